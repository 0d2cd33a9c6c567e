#!/usr/bin/env bash
# Builds test/kfp/argocompiler (KFP's own backend code as a checker, pinned in its go.mod)
# into .cache/go/bin/kfp-argocompile, with the module and build caches in .cache/go, so
# nothing outside the checkout changes. Idempotent: does nothing when the binary is newer
# than the checker's sources. Needs Go (>= 1.24, /usr/local/go/bin is searched) and the Go
# module proxy. A cold build downloads 1.4 GB of modules and compiles for minutes (6.7 min
# on a busy 2-core machine): it is not part of scripts/test-all.sh; `npm run check:kfp-backend`
# runs it, then the test.
set -euo pipefail
cd "$(dirname "$0")/.."
src=test/kfp/argocompiler
out=.cache/go/bin/kfp-argocompile
if [ -x "$out" ] && [ -z "$(find "$src" -newer "$out" -type f)" ]; then
  exit 0
fi
export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "build-kfp-argocompiler: Go is not installed (https://go.dev/doc/install, or Debian's golang-go >= 1.24)" >&2; exit 1; }
cache="$PWD/.cache/go"
export GOMODCACHE="$cache/mod" GOCACHE="$cache/build" GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local
echo "build-kfp-argocompiler: building $out (a cold build takes several minutes)" >&2
(cd "$src" && nice go build -o "$OLDPWD/$out" .)
