#!/usr/bin/env bash
# Set up what `make run` and `make test` need on a fresh Debian/Ubuntu machine with Python 3.11:
# system libraries (as root, via apt-get), then .venv with the project and its test tools.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: please install $* (needs root: sudo apt-get install $*)" >&2
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

# zbar: the shared library behind the pyzbar decoding backend.
if ! ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0'; then
  echo "bootstrap: installing libzbar0"
  apt_install libzbar0
fi

# Chromium (Debian's package) for the kiosk's browser tests, driven by playwright; the fonts
# so that pages render text, not boxes. Never `playwright install`: it downloads from a CDN.
if [ ! -x /usr/bin/chromium ]; then
  echo "bootstrap: installing chromium"
  apt_install chromium fonts-dejavu-core
fi

# A CJK font, so that printed cards (issuer/render/card.py) show Chinese names, not question marks.
if [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  echo "bootstrap: installing fonts-wqy-microhei"
  apt_install fonts-wqy-microhei
fi

# nginx and wrk for the city load test (tests/test_load_nginx.py, `python -m bench load`): a
# real load balancer in front of several `serve` processes, and the load generator. The tests
# run their own nginx from a temporary folder on a free port; the packaged one is not used.
if ! command -v wrk >/dev/null 2>&1 \
    || { [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null 2>&1; }; then
  echo "bootstrap: installing nginx and wrk"
  apt_install nginx wrk
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    echo "bootstrap: installing python3-venv"
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "bootstrap: installing Python packages into .venv"
if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[test]'; } >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
.venv/bin/python scripts/catalogs.py compile >/dev/null
.venv/bin/python -c 'import issuer, verifier, cbor2, zxingcpp, segno' \
  || { echo "bootstrap: the Python environment is incomplete" >&2; exit 1; }
