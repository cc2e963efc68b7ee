#!/usr/bin/env bash
# Refresh the vendored front-end libraries from the npm registry (no CDN at run time).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent bootstrap@5 htmx.org@2 >/dev/null && for f in *.tgz; do
    mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done)
bs=$(ls -d "$work"/bootstrap-*/package)
hx=$(ls -d "$work"/htmx.org-*/package)
cp "$bs"/dist/css/bootstrap.min.css{,.map} static/vendor/bootstrap/css/
cp "$bs"/dist/js/bootstrap.bundle.min.js{,.map} static/vendor/bootstrap/js/
cp "$bs"/LICENSE static/vendor/bootstrap/
cp "$hx"/dist/htmx.min.js "$hx"/LICENSE static/vendor/htmx/
echo "bootstrap $(basename "$(dirname "$bs")"), htmx $(basename "$(dirname "$hx")") vendored"
