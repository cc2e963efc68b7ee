#!/usr/bin/env bash
# CI: system packages that pip cannot provide. The browser tests drive Debian's Chromium at
# /usr/bin/chromium (Playwright cannot download its own browser here); the benchmark's
# load test drives gunicorn with wrk. Install only what is missing, so a prepared machine
# needs no network.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages: chromium and wrk already installed"
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y "${missing[@]}"
test -x /usr/bin/chromium
command -v wrk
