#!/usr/bin/env bash
# Runs every test suite and ends with one line: `N passed, N failed` (totals over all
# suites). Exit code 0 only when everything passed. Assumes scripts/setup.sh has run.
set -uo pipefail
cd "$(dirname "$0")/.."

counts=$(mktemp)
export FLOWBOOK_TEST_COUNTS="$counts"
status=0

suite() { # name, command...
  local name=$1; shift
  echo
  echo "=== $name ==="
  local before
  before=$(wc -l <"$counts")
  if ! "$@"; then status=1; fi
  # A suite that crashed before reporting counts as one failure.
  if [ "$(wc -l <"$counts")" = "$before" ]; then echo "0 1" >>"$counts"; echo "suite '$name' reported no results" >&2; fi
}

static_checks() {
  npx tsc -p tsconfig.json --noEmit false && npx tsc -p src/webview && npx eslint src test \
    && echo "1 0" >>"$FLOWBOOK_TEST_COUNTS" || { echo "0 1" >>"$FLOWBOOK_TEST_COUNTS"; return 1; }
}

suite "typecheck and lint" static_checks
suite "unit and integration (mocha)" npx mocha 'out/test/unit/**/*.test.js'
# The KFP target through KFP's own backend code (built by setup.sh into .cache/go).
suite "KFP backend (Go argocompiler)" npx mocha --timeout 600000 out/test/kfp/argocompiler.test.js

# The VS Code extension in a real VS Code (code-server + Chromium, installed by setup.sh):
# the bundles are built once, then the integration suite runs in code-server's extension
# host and the UI tests drive the workbench (screenshots in test-results/screenshots/).
extension_in_vscode() {
  npx webpack --mode production --stats errors-only && node out/test/extension/runCodeServer.js
}
suite "extension in VS Code (code-server)" extension_in_vscode
suite "extension UI (Chromium)" npx mocha --timeout 300000 'out/test/ui/**/*.test.js'

passed=$(awk '{p+=$1} END {print p+0}' "$counts")
failed=$(awk '{f+=$2} END {print f+0}' "$counts")
rm -f "$counts"
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ $status = 0 ]
