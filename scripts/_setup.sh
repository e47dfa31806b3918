# Shared set-up for scripts/playground and scripts/test: sourced, not run.
# Creates .venv, installs system packages where apt is available, installs jupyter-wp5 with the
# given extra (building its JupyterLab extension). Safe to re-run: it skips what is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${WP5_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

log() { printf '\033[1m[wp5]\033[0m %s\n' "$*" >&2; }

# Debian packages (only as root with apt): xrootd for real storage elements, chromium for browser tests.
apt_install() {
  local missing=()
  for pair in "$@"; do
    local cmd="${pair%%:*}" pkg="${pair#*:}"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "not installing ${missing[*]} (needs root and apt); continuing without"
    return 0
  fi
  log "apt-get install ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Emulated aarch64 workers: qemu-user-static, and apt's arm64 architecture so that
# `jupyter wp5 arm prepare` can `apt-get download` Debian's arm64 Python (no root needed then).
arm_apt_setup() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "not setting up arm64 emulation (needs root and apt); the arm tests will skip"
    return 0
  fi
  apt_install qemu-aarch64-static:qemu-user-static
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "dpkg --add-architecture arm64"
    dpkg --add-architecture arm64
    apt-get update -qq >/dev/null
  fi
}

python_env() {
  local extra="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q -U pip
  fi
  export PATH="$VENV/bin:$PATH"
  local stamp="$VENV/.wp5-installed-$extra"
  # Reinstall when the dependency list or the front end changed since the last install.
  local digest
  digest="$(cat "$ROOT/pyproject.toml" "$ROOT/package.json" | sha256sum | cut -c1-16)"
  # The wheel's shared data holds the root install.json; one inside the build folder (written
  # there through the link below by an install before this was fixed) would be added twice.
  rm -f "$ROOT/jupyter_wp5/labextension/install.json"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ] || [ ! -d "$ROOT/jupyter_wp5/labextension" ]; then
    log "installing jupyter-wp5[$extra] (builds the JupyterLab extension; first time takes minutes)"
    "$VENV/bin/pip" install -q "jupyterlab>=4.6,<5" "hatch-jupyter-builder>=0.10" "hatchling>=1.5"
    # Unlink the lab extension first: pip would install the wheel's shared data (and remove the
    # previous install's) through the link, that is inside our source tree.
    local link="$VENV/share/jupyter/labextensions/jupyter-wp5"
    if [ -L "$link" ]; then rm "$link"; fi
    (cd "$ROOT" && "$VENV/bin/pip" install -q -e ".[$extra]")
    # An editable install links the lab extension's build folder instead of copying it.
    (cd "$ROOT" && "$VENV/bin/jupyter-builder" develop --overwrite . >/dev/null)
    echo "$digest" > "$stamp"
  fi
}
