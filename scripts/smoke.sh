#!/usr/bin/env bash
# Smoke test of the production-like stack, run by CI after the unit tests.
#
# Starts scripts/serve.sh (gunicorn with 2 workers, a Celery worker, beat; DJANGO_ENV=
# production, DEBUG off) on a free port, against a PostgreSQL database dropped and
# created fresh and a Redis database of its own, with the demo data. Then drives it
# over HTTP like a browser (scripts/smoke_client.py): sign in, trains list, dashboard, one
# step, and a deadline reminder that beat's scan found and the worker mailed. Checks the
# worker and beat, and stops everything it started, pass or fail. Output of the stack:
# var/smoke/serve.log; the mail it sent: var/smoke/mail/.
#
# SMOKE_DATABASE_URL, SMOKE_BROKER_URL and SMOKE_PORT override the defaults below.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN_DIR=var/smoke
LOG=$RUN_DIR/serve.log
started=$SECONDS

step() { printf -- '-- %s\n' "$*"; }

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
export SERVE_RUN_DIR=$RUN_DIR
export DATABASE_URL=${SMOKE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/releasemgr_smoke}
export CELERY_BROKER_URL=${SMOKE_BROKER_URL:-redis://127.0.0.1:6379/12}
PORT=${SMOKE_PORT:-$("$BIN/python" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
export PORT
SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))')
export SECRET_KEY
export SEED_DEMO=1
# Mail to files the client reads; beat scans for reminders and hands out mail every 2 s.
export EMAIL_URL="filemail:///$PWD/$RUN_DIR/mail"
export REMINDER_SCAN_SECONDS=2 NOTIFICATION_DISPATCH_SECONDS=2
BASE=http://127.0.0.1:$PORT

serve=""
finish() {
    status=$?
    trap - EXIT
    if [ -n "$serve" ]; then
        step "stopping the stack"
        kill -TERM "$serve" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$serve" 2>/dev/null || break
            sleep 0.5
        done
        # serve.sh runs in a session of its own; whatever is left in it was not stopped.
        left=$(ps -o pid= -s "$serve" || true)
        if [ -n "$left" ]; then
            echo "smoke: still running after stop, killing: $(echo $left)" >&2
            kill -KILL $left 2>/dev/null || true
            status=1
        fi
    fi
    if [ "$status" -ne 0 ]; then
        echo "smoke: FAILED ($status); last lines of $LOG:" >&2
        tail -n 60 "$LOG" >&2 || true
    else
        echo "smoke: passed in $((SECONDS - started))s"
    fi
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "fresh database and broker: $DATABASE_URL, $CELERY_BROKER_URL"
"$BIN/python" scripts/pgdb.py recreate
"$BIN/python" -c 'import os, redis; redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()'

step "starting the stack on $BASE (log: $LOG)"
setsid ./scripts/serve.sh >"$LOG" 2>&1 &
serve=$!

"$BIN/python" scripts/smoke_client.py wait "$BASE" --timeout 90 --pid "$serve"

step "driving it over HTTP"
"$BIN/python" scripts/smoke_client.py drive "$BASE" --log "$LOG" --mail-dir "$RUN_DIR/mail"

step "worker and beat"
pong=""
for _ in $(seq 1 20); do
    pong=$("$BIN/celery" -A releasemgr inspect ping --timeout 2 2>/dev/null || true)
    case "$pong" in *pong*) break ;; esac
done
case "$pong" in
    *pong*) echo "ok - the Celery worker answers a ping through the broker" ;;
    *) echo "not ok - no Celery worker answered a ping" >&2; exit 1 ;;
esac
if ps -o args= -s "$serve" | grep -q "celery -A releasemgr beat"; then
    echo "ok - beat is running"
else
    echo "not ok - beat is not running" >&2
    exit 1
fi
