#!/usr/bin/env bash
# README quick start, command 1: makes this machine able to run the example notebook and
# runs it end to end with the local runner (`flowbook run`), showing steps, times and
# metrics. As root it installs what is missing (Debian/Ubuntu packages, npm packages);
# as another user it prints exactly what to install and stops. Extra arguments go to
# `flowbook run`, e.g. `bash scripts/quickstart.sh -p C=0.1`.
set -euo pipefail
cd "$(dirname "$0")/.."

example=examples/breast-cancer/breast_cancer.ipynb
is_root=false
[ "$(id -u)" = 0 ] && is_root=true

say() { printf 'quickstart: %s\n' "$*"; }
stop() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

# --- Node.js 20+ and the npm packages -------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  stop "Node.js 20 or newer (with npm) is needed: see https://nodejs.org/en/download (Debian 12's own nodejs is version 18, too old)."
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || stop "Node.js $(node --version) is too old; Flowbook needs Node.js 20 or newer."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
if [ ! -f out/src/cli/main.js ] || [ ! -f out/.tsbuildinfo ] || [ -n "$(find src -name '*.ts' -newer out/.tsbuildinfo -print -quit)" ]; then
  say "building the flowbook command (npm run compile)"
  npm run --silent compile || [ -f out/src/cli/main.js ] || stop "the build failed; see the errors above."
fi

# --- A Python 3 that has pandas and scikit-learn ---------------------------------------
has_stack() { "$1" -c 'import pandas, sklearn' >/dev/null 2>&1; }
python=
for candidate in "${FLOWBOOK_PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if has_stack "$path"; then python=$path; break; fi
done

if [ -z "$python" ]; then
  packages=(python3 python3-pandas python3-sklearn)
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ! command -v apt-get >/dev/null; then
    stop "no Python 3 with pandas and scikit-learn was found. Install them for your Python 3 (python3 -m pip install pandas scikit-learn) and run this again, or set FLOWBOOK_PYTHON to an interpreter that has them."
  fi
  if [ ${#missing[@]} -eq 0 ]; then
    stop "python3-pandas and python3-sklearn are installed, but /usr/bin/python3 cannot import them; check 'python3 -c \"import pandas, sklearn\"' for the reason."
  fi
  if ! $is_root; then
    stop "no Python 3 with pandas and scikit-learn was found. Install them with:
    sudo apt-get install -y ${missing[*]}
then run this script again."
  fi
  say "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  python=/usr/bin/python3
  has_stack "$python" || stop "$python still cannot import pandas and sklearn after installing ${missing[*]}."
fi
say "Python: $python ($("$python" -c 'import sys, pandas, sklearn; print(f"{sys.version.split()[0]}, pandas {pandas.__version__}, scikit-learn {sklearn.__version__}")'))"

# --- The example, end to end -------------------------------------------------------------
say "npx flowbook run $example --python $python $*"
exec npx --no-install flowbook run "$example" --python "$python" "$@"
