#!/usr/bin/env bash
# Conformance against a server this script starts and stops: for `make conformance`.
#
#   bash conformance/live.sh [--dev] [--screenshot]
#
# Starts `soteria demo` (synthetic data for all 43 forces at SOTERIA_CONFORMANCE_SCALE,
# default 0.03, of the yearly volume; its two force nodes included) on free loopback ports
# with a throwaway var dir and database, takes the demo analyst's token from the token
# endpoint, runs run.sh with the demo's own example query for GraphiQL, then stops the
# demo and its nodes. --dev serves conformance/dev_server.py instead (the real app with
# the transport over a toy schema: no indicator schema needed). Other arguments go to
# run.sh. Every step is time-bounded; the servers are stopped however the script ends.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="$root/.venv/bin/python"
start_timeout="${SOTERIA_CONFORMANCE_START_TIMEOUT:-300}"
dev=0
if [ "${1:-}" = "--dev" ]; then
    dev=1
    shift
fi

read -r port node_a node_b < <("$python" - <<'EOF'
import socket

probes = [socket.socket() for _ in range(3)]
for probe in probes:
    probe.bind(("127.0.0.1", 0))
print(*(probe.getsockname()[1] for probe in probes))
for probe in probes:
    probe.close()
EOF
)
base="http://127.0.0.1:$port"

var="$(mktemp -d)"
export SOTERIA_VAR_DIR="$var" SOTERIA_DATABASE_URL="sqlite:///$var/soteria.db"
# setsid: the server leads its own process group, so cleanup can end everything it started.
if [ $dev = 1 ]; then
    setsid "$python" "$here/dev_server.py" --port "$port" >"$var/server.log" 2>&1 &
else
    setsid "$root/.venv/bin/soteria" demo --port "$port" --node-ports "$node_a,$node_b" \
        --scale "${SOTERIA_CONFORMANCE_SCALE:-0.03}" >"$var/server.log" 2>&1 &
fi
server=$!
stopped() {
    # Gone, or a zombie that this shell has not reaped yet.
    local state
    state="$(ps -o stat= -p "$server" 2>/dev/null || true)"
    [ -z "$state" ] || [ "${state:0:1}" = Z ]
}
cleanup() {
    # SIGTERM, not SIGINT: a background job of a non-interactive shell ignores SIGINT.
    # The demo stops its nodes on SIGTERM; whatever is left of the group is killed.
    kill -TERM "$server" 2>/dev/null || true
    for _ in $(seq 1 40); do stopped && break; sleep 0.5; done
    kill -KILL -- "-$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$var"
}
trap cleanup EXIT

# The demo is ready once its data is loaded and it prints its guide; the dev server once
# its token endpoint answers.
ready=0
for _ in $(seq 1 "$start_timeout"); do
    if ! kill -0 "$server" 2>/dev/null; then
        cat "$var/server.log" >&2
        echo "the server stopped before it was ready" >&2
        exit 1
    fi
    if [ $dev = 1 ] && [ -s "$var/dev-client.json" ] && curl -sf "$base/healthz" >/dev/null; then
        ready=1
        break
    fi
    if [ $dev = 0 ] && grep -q "Press Ctrl-C to stop" "$var/server.log"; then
        ready=1
        break
    fi
    sleep 1
done
if [ $ready = 0 ]; then
    tail -n 50 "$var/server.log" >&2
    echo "the server was not ready after ${start_timeout} s" >&2
    exit 1
fi

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
token="$(curl -sf --max-time 30 -u "$credentials" -d grant_type=client_credentials \
    "$base/oauth/token" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"

if [ $dev = 0 ]; then
    # GraphiQL runs the demo's example query: a real indicator table, with its coverage.
    SOTERIA_QUERY="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["query"])' \
        "$var/demo-query.json")"
    export SOTERIA_QUERY SOTERIA_EXPECT='"included"'
fi
bash "$here/run.sh" "$base" "$token" "$@"
