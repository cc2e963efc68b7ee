#!/usr/bin/env bash
# `make run`: the whole app on one machine with no server to install — SQLite, and a
# Celery worker with beat on kombu's filesystem broker (both under var/).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
# The links in the mails the worker sends point at this server, unless told otherwise.
export SITE_URL=${SITE_URL:-http://127.0.0.1:$PORT}
mkdir -p var

"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py seed_demo

"$BIN/celery" -A releasemgr worker --beat --concurrency=1 --loglevel=INFO \
    --schedule=var/celerybeat-schedule &
worker=$!
trap 'kill "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true' EXIT INT TERM

echo "releasemgr: http://127.0.0.1:$PORT/ — sign in as manager / demo (see README)"
"$BIN/python" manage.py runserver "127.0.0.1:$PORT"
