#!/usr/bin/env bash
# Run one release train from creation to closed through the REST API, with curl only.
#
#   BASE=https://releases.example.com MANAGER_TOKEN=rm_… OWNER_TOKEN=rm_… \
#   EXECUTIVE_TOKEN=rm_… ENGINEER_TOKEN=rm_… scripts/api-train.sh
#
# Tokens come from each person's /profile/ page. The development gate is approved by
# the release managers' group, the executive gate by the executives' group.
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8000}
: "${MANAGER_TOKEN:?}" "${OWNER_TOKEN:?}" "${EXECUTIVE_TOKEN:?}" "${ENGINEER_TOKEN:?}"
STAMP=$(date +%s)
NAME=${TRAIN_NAME:-"Scripted train $STAMP"}
day() { date -d "+$1 days" +%F; }

# api TOKEN METHOD PATH [JSON]: print the answer's body; stop with the error otherwise.
api() {
    local token=$1 method=$2 path=$3 body=${4-} out code
    local args=(-sS -X "$method" "$BASE$path" -H "Authorization: Bearer $token"
        -H "Accept: application/json" -w '\n%{http_code}')
    if [ -n "$body" ]; then args+=(-H "Content-Type: application/json" --data "$body"); fi
    out=$(curl "${args[@]}")
    code=${out##*$'\n'}
    out=${out%$'\n'*}
    case $code in
        2??) printf '%s' "$out" ;;
        *) echo "$method $path -> $code: $out" >&2; exit 1 ;;
    esac
}
id() { sed -n 's/^{"id":\([0-9][0-9]*\).*/\1/p'; }
say() { printf '%-34s %s\n' "$1" "${2-}"; }

train=$(api "$MANAGER_TOKEN" POST /api/v1/trains/ "{\"name\": \"$NAME\", \"type\": \"minor\",
  \"start_date\": \"$(day 0)\", \"end_date\": \"$(day 40)\",
  \"phase_ends\": {\"scoping\": \"$(day 7)\", \"construction\": \"$(day 14)\",
                   \"verification\": \"$(day 21)\", \"deployment\": \"$(day 28)\"}}" | id)
T=/api/v1/trains/$train
say "train submitted" "$BASE$T/"
dev=$(api "$MANAGER_TOKEN" POST "$T/approval-requirements/" \
    '{"gate": "development", "group": "release_managers"}' | id)
exe=$(api "$MANAGER_TOKEN" POST "$T/approval-requirements/" \
    '{"gate": "executive", "group": "executives"}' | id)
say "approvers set" "development #$dev, executive #$exe"

app=$(api "$OWNER_TOKEN" POST /api/v1/applications/ "{\"name\": \"Scripted app $STAMP\"}" | id)
release=$(api "$MANAGER_TOKEN" POST /api/v1/application-releases/ \
    "{\"application\": $app, \"version\": \"1.0.0\", \"train\": $train}" | id)
say "release on the train" "#$release"

api "$MANAGER_TOKEN" POST "$T/transitions/start_construction/" >/dev/null
say "construction started"
R=/api/v1/application-releases/$release/transitions
api "$OWNER_TOKEN" POST "$R/start_development/" >/dev/null
api "$OWNER_TOKEN" POST "$R/complete_development/" >/dev/null
say "development complete" "(the train asks for development approval)"

api "$MANAGER_TOKEN" POST "$T/decisions/" "{\"requirement\": $dev, \"approve\": true}" >/dev/null
say "development approved"
criterion=$(api "$MANAGER_TOKEN" GET "$T/criteria/" \
    | grep -o '"id":[0-9]*,"phase":"verification"' | head -n1 | sed 's/[^0-9]//g')
api "$MANAGER_TOKEN" POST "/api/v1/criteria/$criterion/check/" >/dev/null
say "QA sign-off checked"
api "$MANAGER_TOKEN" POST "$T/transitions/request_executive_approval/" >/dev/null
api "$EXECUTIVE_TOKEN" POST "$T/decisions/" "{\"requirement\": $exe, \"approve\": true}" >/dev/null
say "executive approved"

turnover=$(api "$OWNER_TOKEN" POST /api/v1/turnovers/ \
    "{\"release\": $release, \"description\": \"Build $STAMP, runbook attached\"}" | id)
api "$ENGINEER_TOKEN" POST "/api/v1/turnovers/$turnover/accept/" >/dev/null
say "turnover accepted" "#$turnover"

result=$(api "$ENGINEER_TOKEN" POST "$T/deployments/" \
    '{"succeeded": true, "log": "Deployed by scripts/api-train.sh"}')
case $result in
    *'"train_state":"closed"'*) say "deployed" "train $train is closed" ;;
    *) echo "unexpected answer: $result" >&2; exit 1 ;;
esac
