#!/bin/sh
# Copies the browser libraries the pages import from node_modules (installed by `npm ci` at the
# versions package-lock.json pins) into vendor/, which is committed: `cargo run` then serves
# working pages with no npm step. `--check` fails if vendor/ differs from what this would write.
set -eu
cd "$(dirname "$0")/.."
out=vendor
[ "${1:-}" = "--check" ] && out=$(mktemp -d)
# oidc-client-ts's ES module has one bare import, resolved here to the file next to it (an
# import map would need an inline script, which the pages' Content-Security-Policy forbids).
sed 's#from "jwt-decode"#from "./jwt-decode.js"#' node_modules/oidc-client-ts/dist/esm/oidc-client-ts.js \
  | grep -v '^//# sourceMappingURL' > "$out/oidc-client-ts.js"
grep -v '^//# sourceMappingURL' node_modules/jwt-decode/build/esm/index.js > "$out/jwt-decode.js"
cp node_modules/oidc-client-ts/dist/types/oidc-client-ts.d.ts "$out/oidc-client-ts.d.ts"
cp node_modules/oidc-client-ts/LICENSE "$out/oidc-client-ts.LICENSE"
cp node_modules/jwt-decode/LICENSE "$out/jwt-decode.LICENSE"
if [ "$out" != vendor ]; then
  diff -r "$out" vendor && echo "web/vendor matches package-lock.json"
  rm -rf "$out"
fi
