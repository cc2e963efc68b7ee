#!/usr/bin/env bash
# `make serve`: the production-like stack on this machine, without Docker. gunicorn with
# 2 sync workers, a Celery worker and a separate beat, on the local PostgreSQL and Redis,
# DJANGO_ENV=production and DEBUG off. Migrates and collects static files first.
# Ctrl-C (or SIGTERM) stops everything it started; so does any one process dying.
#
# Environment (defaults in brackets): PORT [8080], DATABASE_URL
# [postgres://postgres@127.0.0.1:5432/releasemgr_serve], CELERY_BROKER_URL
# [redis://127.0.0.1:6379/1], SECRET_KEY [generated once into var/serve/secret_key],
# FERNET_KEYS [generated once into var/serve/fernet_key],
# SEED_DEMO=1 to load the demo data (seed_demo --force).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN_DIR=${SERVE_RUN_DIR:-var/serve}  # secret key, static files, beat schedule
mkdir -p "$RUN_DIR"

export DJANGO_ENV=production
export DEBUG=false
export PORT=${PORT:-8080}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/releasemgr_serve}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/1}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export SITE_URL=${SITE_URL:-http://127.0.0.1:$PORT}
export STATIC_ROOT=${STATIC_ROOT:-$PWD/$RUN_DIR/staticfiles}
# Plain HTTP on localhost: no redirect to HTTPS, no HSTS, cookies without the Secure
# flag (a browser would not send them back over HTTP). Production keeps all of these on.
export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-false}
export SESSION_COOKIE_SECURE=${SESSION_COOKIE_SECURE:-false}
export CSRF_COOKIE_SECURE=${CSRF_COOKIE_SECURE:-false}
export SECURE_HSTS_SECONDS=${SECURE_HSTS_SECONDS:-0}
if [ -z "${SECRET_KEY:-}" ]; then
    # Generated once and kept, so that sessions survive a restart.
    if [ ! -s "$RUN_DIR/secret_key" ]; then
        (umask 077 && "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))' \
            >"$RUN_DIR/secret_key")
    fi
    SECRET_KEY=$(cat "$RUN_DIR/secret_key")
    export SECRET_KEY
fi
if [ -z "${FERNET_KEYS:-}" ]; then
    # The key that encrypts webhook secrets, also generated once and kept.
    if [ ! -s "$RUN_DIR/fernet_key" ]; then
        (umask 077 && "$BIN/python" -c \
            'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' \
            >"$RUN_DIR/fernet_key")
    fi
    FERNET_KEYS=$(cat "$RUN_DIR/fernet_key")
    export FERNET_KEYS
fi

"$BIN/python" scripts/pgdb.py ensure
"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput --verbosity 0
if [ "${SEED_DEMO:-}" = 1 ]; then
    "$BIN/python" manage.py seed_demo --force
fi

# Each process in its own process group: Ctrl-C reaches this script only, which then
# stops each process exactly once (a second signal turns a clean shutdown into a noisy one).
set -m
pids=()
stop() {
    trap - EXIT INT TERM
    if [ "${#pids[@]}" -gt 0 ]; then
        echo "serve: stopping ${pids[*]}" >&2
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$BIN/gunicorn" releasemgr.wsgi --config gunicorn.conf.py --bind "127.0.0.1:$PORT" --workers 2 &
pids+=($!)
"$BIN/celery" -A releasemgr worker --concurrency=2 --hostname "worker@%h" &
pids+=($!)
"$BIN/celery" -A releasemgr beat --schedule "$RUN_DIR/celerybeat-schedule" \
    --pidfile "$RUN_DIR/celerybeat.pid" &
pids+=($!)

echo "serve: http://127.0.0.1:$PORT/ (gunicorn, worker, beat: ${pids[*]}); Ctrl-C stops" >&2
# Whichever process ends first ends the stack: a half-running stack only misleads.
set +e
wait -n "${pids[@]}"
status=$?
echo "serve: a process exited with status $status; stopping the others" >&2
exit "$status"
