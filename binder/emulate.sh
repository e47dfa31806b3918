#!/usr/bin/env bash
# repo2docker cannot run here (no Docker engine). This follows its order of steps on this machine:
# a clean copy of the repository, a fresh virtual environment, apt.txt, requirements.txt, postBuild,
# then start, which runs the demo notebooks end to end (binder/demos.py) instead of JupyterLab.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
export WP5_PLAYGROUND_DIR="$work/playground" WP5_RUCIO_VENV="$work/rucio-venv"
cleanup() {
  pkill -INT -f "playground --no-lab --root $WP5_PLAYGROUND_DIR" 2>/dev/null || true
  for _ in $(seq 30); do pgrep -f "playground --no-lab --root $WP5_PLAYGROUND_DIR" >/dev/null || break; sleep 1; done
  python3 -c 'import sys; from jupyter_wp5.playground import Facility; Facility(root=sys.argv[1]).remove()' "$WP5_PLAYGROUND_DIR" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/repo"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$work/repo"
cd "$work/repo"

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  missing=$(grep -v '^#' binder/apt.txt | while read -r pkg; do dpkg -s "$pkg" >/dev/null 2>&1 || echo "$pkg"; done)
  [ -z "$missing" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null; }
fi
python3 -m venv "$work/env"
export PATH="$work/env/bin:$PATH"
pip install -q -U pip
pip install -q -r binder/requirements.txt
bash binder/postBuild
WP5_DEMO_DIR="$work" bash binder/start python binder/demos.py
