#!/usr/bin/env bash
# Browser tests: start the playground (real Rucio, storage, JupyterLab with the extension) on a free
# port, run Galata in Debian Chromium against it, stop the playground. Screenshots go to docs/images.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
port="$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="$(python -c 'import secrets; print(secrets.token_hex(16))')"

JUPYTER_CONFIG_PATH="$HERE/jupyter-config" jupyter wp5 playground --root "$work/facility" --port "$port" --token "$token" \
  >"$work/playground.log" 2>&1 &
pg=$!
stop() {
  kill -INT "$pg" 2>/dev/null && wait "$pg" || true
  rm -rf "$work"
}
trap stop EXIT

for _ in $(seq 600); do
  grep -q "wp5 playground ready" "$work/playground.log" && break
  kill -0 "$pg" 2>/dev/null || { cat "$work/playground.log"; exit 1; }
  sleep 1
done
grep -q "wp5 playground ready" "$work/playground.log" || { cat "$work/playground.log"; exit 1; }

cd "$HERE"
[ -d node_modules ] || jlpm install
WP5_LAB_URL="http://127.0.0.1:$port/lab" WP5_TOKEN="$token" WP5_PLAYGROUND_ROOT="$work/facility" jlpm playwright test "$@"
