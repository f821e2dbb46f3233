#!/usr/bin/env bash
# Runs every rnatsd test. Installs what the tests need first:
# - the reference nats-server (Debian package) for the differential tests;
# - Node.js and the npm packages nats (nats.js) and nats.ws for the client tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_apt+=(nats-server)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The Debian package starts a system service on 4222; tests use their own ports
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

echo "== JavaScript clients (nats.js as NestJS uses it, nats.ws)"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error && npm test)
