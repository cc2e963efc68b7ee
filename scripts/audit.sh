#!/usr/bin/env bash
# Supply-chain checks, run by `make audit` and CI:
#   bandit     static analysis of our own Python (config: [tool.bandit] in pyproject.toml;
#              each accepted finding is marked `# nosec <id>` with its reason in the code)
#   pip-audit  known vulnerabilities (PyPI advisory data) in every installed package
#
# pip-audit needs the PyPI JSON API per release (https://pypi.org/pypi/<name>/<version>/json).
# Where that does not answer (a mirror that serves only the package index), pip-audit can
# audit nothing: the script then says so loudly and, unless AUDIT_REQUIRE_ONLINE=1, does
# not fail -- it never reports "no known vulnerabilities" for packages it could not check.
#
# Accepted pip-audit findings go in PIP_AUDIT_IGNORE below, one `--ignore-vuln ID` each,
# with the reason in a comment. There are none.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
REPORT=test-artifacts/audit.txt
mkdir -p test-artifacts

PIP_AUDIT_IGNORE=()

echo "== bandit"
"$BIN/bandit" -c pyproject.toml -r . -q
echo "bandit: no issues (accepted ones are marked # nosec with a reason)" | tee "$REPORT"

echo "== pip-audit"
if "$BIN/python" - <<'PY'
import sys
import urllib.request

try:
    # Any release's JSON will do; an old Django release is sure to exist and have advisories.
    urllib.request.urlopen("https://pypi.org/pypi/django/4.2/json", timeout=15).read(1)
except Exception as error:  # noqa: BLE001 - any failure means: cannot audit here
    print(f"PyPI vulnerability data unreachable: {error}", file=sys.stderr)
    sys.exit(1)
PY
then
    "$BIN/pip-audit" --strict --skip-editable --progress-spinner off "${PIP_AUDIT_IGNORE[@]}" \
        | tee -a "$REPORT"
else
    message="pip-audit: SKIPPED -- this machine cannot reach PyPI's vulnerability data, so no package was audited"
    echo "$message" | tee -a "$REPORT" >&2
    if [ "${AUDIT_REQUIRE_ONLINE:-0}" = "1" ]; then
        exit 1
    fi
fi
