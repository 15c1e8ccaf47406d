#!/usr/bin/env bash
# Conformance against a server this script starts and stops: for `make conformance`.
#
#   bash conformance/live.sh [--dev] [--screenshot]
#
# Starts `soteria demo` (synthetic data for all 43 forces, SOTERIA_CONFORMANCE_YEARS years,
# default 0.3) on 127.0.0.1:$SOTERIA_CONFORMANCE_PORT (default 8799) with a throwaway
# database, takes the demo analyst's token from the token endpoint, runs run.sh, then
# stops the server. --dev serves conformance/dev_server.py instead (the real app with the
# transport over a toy schema: no indicator schema needed). Other arguments go to run.sh.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="$root/.venv/bin/python"
port="${SOTERIA_CONFORMANCE_PORT:-8799}"
base="http://127.0.0.1:$port"
dev=0
if [ "${1:-}" = "--dev" ]; then
    dev=1
    shift
fi

var="$(mktemp -d)"
export SOTERIA_VAR_DIR="$var" SOTERIA_DATABASE_URL="sqlite:///$var/soteria.db"
if [ $dev = 1 ]; then
    "$python" "$here/dev_server.py" --port "$port" >"$var/server.log" 2>&1 &
else
    "$root/.venv/bin/soteria" demo --port "$port" --years "${SOTERIA_CONFORMANCE_YEARS:-0.3}" \
        >"$var/server.log" 2>&1 &
fi
server=$!
cleanup() {
    kill -INT "$server" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$server" 2>/dev/null || break; sleep 0.5; done
    kill "$server" 2>/dev/null || true
    rm -rf "$var"
}
trap cleanup EXIT

# The demo is ready once its data is loaded and it prints its guide; the dev server once
# its token endpoint answers.
for _ in $(seq 1 900); do
    if ! kill -0 "$server" 2>/dev/null; then
        cat "$var/server.log" >&2
        echo "the server stopped before it was ready" >&2
        exit 1
    fi
    if [ $dev = 1 ] && [ -s "$var/dev-client.json" ] && curl -sf "$base/healthz" >/dev/null; then
        break
    fi
    if [ $dev = 0 ] && grep -q "demo is running" "$var/server.log"; then
        break
    fi
    sleep 1
done

credentials="$("$python" - "$var" "$dev" <<'EOF'
import json
import pathlib
import sys

var, dev = pathlib.Path(sys.argv[1]), sys.argv[2] == "1"
if dev:
    client = json.loads((var / "dev-client.json").read_text())
else:
    clients = json.loads((var / "demo-clients.json").read_text())
    client = next(c for c in clients if c["role"] == "analyst")
print(f"{client['client_id']}:{client['client_secret']}")
EOF
)"
token="$(curl -sf -u "$credentials" -d grant_type=client_credentials "$base/oauth/token" |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"

bash "$here/run.sh" "$base" "$token" "$@"
