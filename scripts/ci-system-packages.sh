#!/usr/bin/env bash
# CI: system packages the test suite needs and pip cannot provide. The browser tests drive
# Debian's Chromium at /usr/bin/chromium (Playwright cannot download its own browser here);
# install it only when it is missing, so a prepared machine needs no network.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium: already installed at /usr/bin/chromium"
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y chromium
test -x /usr/bin/chromium
