#!/usr/bin/env bash
# Installs everything Flowbook's tests and examples need on a fresh Debian/Ubuntu machine.
# Idempotent: a second run only checks. Needs root for apt-get (CI runs as root); as
# another user it prints what to install instead.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  # Python with the data-science stack, for running notebook steps (local runner, tests)
  python3 python3-numpy python3-pandas python3-sklearn python3-pyflakes
  # cloudpickle: the step runtime passes values between steps by value with it
  python3-cloudpickle
)

# Images (src/images tests and bench/images.bench.ts): a real registry on loopback, a
# daemonless builder, an independent pulling client, htpasswd for the auth tests, a static
# busybox for the tests' tiny base image, openssl for the token-auth test, curl for the bench.
apt_packages+=(docker-registry buildah skopeo apache2-utils busybox-static openssl curl)

# Compiled YAML read back by other readers (test/unit/converter/emit/yamlReaders.test.ts):
# PyYAML, and Go's reader in kubectl (Debian's kubernetes-client, unless a kubectl is there).
apt_packages+=(python3-yaml)
command -v kubectl >/dev/null 2>&1 || apt_packages+=(kubernetes-client)

# VS Code extension tests (test/extension, test/ui): Debian's Chromium as the browser that
# drives code-server; code-server's native modules build against Kerberos headers (libkrb5-dev,
# pkg-config), and Debian's ripgrep stands in for the one its postinstall would download.
apt_packages+=(chromium libkrb5-dev pkg-config ripgrep)

# Kubeflow Pipelines target tests (test/kfp, test/unit/converter/emit/kfp.test.ts): a venv for
# KFP's protos and SDK, made below (Debian's Python refuses pip installs into itself).
apt_packages+=(python3-venv)

# Benchmarks only (`scripts/setup.sh --bench`): `jupyter nbconvert --execute`, the baseline
# that bench/runner.bench.ts compares the local runner with.
if [ "${1:-}" = --bench ]; then
  apt_packages+=(python3-nbconvert python3-ipykernel)
fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

# KFP's own protos and SDK, pinned, in the project-local venv .venv-kfp (gitignored): the tests
# parse every compiled pipeline with them and run it with a stand-in for KFP's launcher. Built
# from Debian's Python (/usr/bin/python3), never another python3 on PATH.
KFP_VERSION=2.17.3
if ! .venv-kfp/bin/python -c "import kfp, sys; sys.exit(kfp.__version__ != '$KFP_VERSION')" 2>/dev/null; then
  echo "setup: .venv-kfp with kfp $KFP_VERSION"
  rm -rf .venv-kfp
  /usr/bin/python3 -m venv .venv-kfp
  .venv-kfp/bin/pip install --quiet --disable-pip-version-check \
    "kfp==$KFP_VERSION" "kfp-pipeline-spec==$KFP_VERSION" "kfp-kubernetes==$KFP_VERSION"
fi
# ML Metadata's own protos, to check Flowbook's metrics reader byte for byte
# (test/kfp/mlmd_codec.py loads only the generated message modules: no gRPC, no C++ store).
MLMD_VERSION=1.17.1
if ! .venv-kfp/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('ml-metadata') != '$MLMD_VERSION')" 2>/dev/null; then
  echo "setup: ml-metadata $MLMD_VERSION protos in .venv-kfp"
  .venv-kfp/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "ml-metadata==$MLMD_VERSION"
fi

# VS Code extension tests: code-server 4.100.3 (VS Code 1.100.3) into .cache/code-server.
bash scripts/install-code-server.sh
