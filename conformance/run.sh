#!/usr/bin/env bash
# Conformance of a live Soteria Exchange server: GraphQL-over-HTTP audits, then GraphiQL
# in headless Chromium.
#
#   bash conformance/run.sh SERVER_URL TOKEN [--screenshot]
#
# Needs Node.js 20+, and /usr/bin/chromium (Debian: apt-get install -y chromium) or
# $CHROMIUM. Installs the pinned Node packages from package-lock.json (npm ci: exactly the
# locked versions, checked against their integrity hashes, from the npm registry only)
# when node_modules is missing or older than the lock file. Exits non-zero if a MUST audit
# fails or the GraphiQL check fails; both run either way. Every step has a time limit.
set -uo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 SERVER_URL TOKEN [--screenshot]" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
export SOTERIA_URL="$1" SOTERIA_TOKEN="$2"
shift 2

if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules" ]; then
    (cd "$here" && timeout 600 npm ci --no-audit --no-fund --loglevel=error) || exit 1
    touch "$here/node_modules"
fi

status=0
echo "== graphql-http server audits"
timeout 300 node "$here/audit.mjs" || status=1
echo "== GraphiQL in headless Chromium"
timeout 300 node "$here/graphiql.mjs" "$@" || status=1
exit $status
