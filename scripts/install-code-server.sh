#!/usr/bin/env bash
# Installs code-server (the real VS Code 1.100.3 workbench + extension host, from the npm
# registry) into .cache/code-server, for the extension's integration and UI tests.
# Idempotent. 4.100.3 is the newest code-server that runs on Node 20.
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.100.3
prefix=.cache/code-server
bin=$prefix/node_modules/.bin/code-server

# The postinstall builds VS Code's native modules (node-pty among them): their presence
# says the install completed, not just the download.
built="$prefix/node_modules/code-server/lib/vscode/node_modules/node-pty/build/Release/pty.node"

if [ -x "$bin" ] && [ -f "$built" ] \
  && grep -q "\"version\": \"$version\"" "$prefix/node_modules/code-server/package.json"; then
  exit 0
fi

command -v rg >/dev/null || { echo "install-code-server: ripgrep is missing (apt-get install ripgrep)" >&2; exit 1; }

# @vscode/ripgrep's postinstall downloads rg from GitHub, which is unreachable here; it
# uses a cached archive when one is present, so hand it Debian's rg.
cache=/tmp/vscode-ripgrep-cache-1.15.11
pack=$(mktemp -d)
mkdir -p "$cache"
cp "$(command -v rg)" "$pack/rg"
tar czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$pack" rg
rm -rf "$pack"

echo "install-code-server: installing code-server@$version into $prefix (about 2 minutes)"
mkdir -p "$prefix"
# node-pty's postinstall runs npx without a terminal: npm_config_yes answers it.
npm_config_yes=true npm install --prefix "$prefix" --no-audit --no-fund --unsafe-perm \
  --foreground-scripts "code-server@$version"

# npm 11 prints "install-scripts" warnings; check that code-server's postinstall really
# installed the VS Code dependencies it needs.
if [ ! -f "$built" ]; then
  echo "install-code-server: code-server's postinstall did not run or failed ($built is missing); see the npm output above" >&2
  exit 1
fi
"$bin" --version
