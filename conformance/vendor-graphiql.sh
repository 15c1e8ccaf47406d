#!/usr/bin/env bash
# Re-vendor GraphiQL and React into gateway/static/graphiql/ from the npm registry.
#
# `npm pack` checks each tarball against the registry's sha512 integrity; the files are
# copied unchanged (byte for byte), and their SHA-256 digests go into SHA256SUMS, which
# the Python tests compare with the files. Bump the versions here, run the script, then
# update the table in gateway/static/graphiql/README.md and run the GraphiQL check.
set -euo pipefail

GRAPHIQL_VERSION=4.1.2
REACT_VERSION=18.3.1 # the last React with UMD builds; GraphiQL 4 supports React 18

here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../gateway/static/graphiql"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null
mkdir graphiql react react-dom
tar -xzf "graphiql-$GRAPHIQL_VERSION.tgz" -C graphiql
tar -xzf "react-$REACT_VERSION.tgz" -C react
tar -xzf "react-dom-$REACT_VERSION.tgz" -C react-dom

cp graphiql/package/graphiql.min.js graphiql/package/graphiql.min.css "$dest/"
cp react/package/umd/react.production.min.js "$dest/"
cp react-dom/package/umd/react-dom.production.min.js "$dest/"
cp graphiql/package/LICENSE "$dest/LICENSE.graphiql.txt"
cp react/package/LICENSE "$dest/LICENSE.react.txt"

cd "$dest"
sha256sum graphiql.min.js graphiql.min.css react.production.min.js \
    react-dom.production.min.js >SHA256SUMS
cat SHA256SUMS
