"""An aarch64 Python tree for emulated ARM workers: prepared once, cached, checked.

The tree is Debian's arm64 Python (``apt-get download`` of the packages below, unpacked with
``dpkg -x``, no root needed once the arm64 architecture is known to apt) plus aarch64 wheels of the
host's dask and distributed versions (and numpy, awkward, uproot, coffea) installed from the host
with ``pip --platform``: nothing is emulated while preparing. Workers then run it under
``qemu-aarch64-static -L <tree>`` (see :func:`python_command`), which needs no binfmt_misc.

A manifest (size and SHA-256 of every file) is written last; a tree without one, or whose files no
longer match it, is prepared again. The tree is built next to its final place and renamed in, so a
reader never sees half a tree.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PREPARE_COMMAND",
    "ArmRootfs",
    "RootfsError",
    "default_rootfs_path",
    "qemu_binary",
    "write_manifest",
]

PREPARE_COMMAND = "jupyter wp5 arm prepare"
QEMU = "qemu-aarch64-static"
MANIFEST = "wp5-manifest.json"
FORMAT = 1

# Debian 12's arm64 Python 3.11 and the libraries it and the wheels load (RECIPES.md).
DEBIAN_PACKAGES = (
    "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "libc6",
    "libexpat1", "zlib1g", "libffi8", "libssl3", "libbz2-1.0", "liblzma5", "libsqlite3-0",
    "libgcc-s1", "libstdc++6", "libuuid1", "libncursesw6", "libtinfo6", "libreadline8",
    "libdb5.3", "libgdbm6", "libnsl2", "libtirpc3", "libcrypt1",
)  # fmt: skip
ARCH_INDEPENDENT = ("media-types",)
PYTHON_IN_TREE = "usr/bin/python3.11"
SITE_IN_TREE = "opt/wp5/site-packages"

# Workers need these at the host's exact versions; the rest where aarch64 wheels exist.
REQUIRED = ("dask", "distributed")
OPTIONAL = ("numpy", "awkward", "uproot", "coffea")
WHEEL_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64")

APT_HINT = (
    "apt has no arm64 packages: as root, run `dpkg --add-architecture arm64 && apt-get update` "
    "(and `apt-get install qemu-user-static`)"
)


class RootfsError(RuntimeError):
    """The tree could not be prepared; the message says what to do."""


def default_rootfs_path() -> Path:
    """``$WP5_ARM_ROOTFS``, else ``<cache>/jupyter-wp5/arm64-py311`` (XDG cache directory)."""
    env = os.environ.get("WP5_ARM_ROOTFS")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "jupyter-wp5" / "arm64-py311"


def qemu_binary() -> str | None:
    """Path of ``qemu-aarch64-static``, None when it is not installed."""
    found = shutil.which(QEMU)
    if found is None and os.access(f"/usr/bin/{QEMU}", os.X_OK):
        found = f"/usr/bin/{QEMU}"  # PATH without /usr/bin (a batch job's, say)
    return found


def host_version(package: str) -> str | None:
    """The version of ``package`` installed beside jupyter-wp5, None when absent."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _walk(tree: Path) -> Iterable[Path]:
    """Files and symlinks under ``tree`` (a symlink is recorded by its target, not followed)."""
    for top, dirs, files in os.walk(tree):
        dirs.sort()
        links = [d for d in dirs if os.path.islink(os.path.join(top, d))]
        for name in sorted(files + links):
            yield Path(top) / name


def _entry(path: Path) -> list[str | int]:
    if path.is_symlink():
        return ["link", os.readlink(path)]
    return [path.stat().st_size, _sha256(path)]


@dataclass(frozen=True)
class ArmRootfs:
    """The prepared tree at :attr:`path` (it may not exist yet)."""

    path: Path

    @classmethod
    def default(cls) -> ArmRootfs:
        """The tree at :func:`default_rootfs_path`."""
        return cls(default_rootfs_path())

    @classmethod
    def configured(cls, path: str) -> ArmRootfs:
        """The tree a setting names (``~`` expanded); the default one for an empty setting."""
        return cls(Path(path).expanduser()) if path else cls.default()

    @property
    def python(self) -> Path:
        """The aarch64 interpreter (an ELF for aarch64: run it through qemu)."""
        return self.path / PYTHON_IN_TREE

    @property
    def site(self) -> Path:
        """Where the aarch64 wheels are installed (the workers' ``PYTHONPATH``)."""
        return self.path / SITE_IN_TREE

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest(self) -> dict | None:
        """The manifest of a finished preparation, None when there is none (or it is unreadable)."""
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("format") == FORMAT else None

    def why_not_ready(self) -> str | None:
        """Cheap check (no hashing): None when workers can start from this tree, else why not.

        Also refuses a tree made for other dask/distributed versions than the host's: client,
        scheduler and workers must share one version.
        """
        if qemu_binary() is None:
            return (
                f"{QEMU} is not installed (apt-get install qemu-user-static, then run "
                f"`{PREPARE_COMMAND}`)"
            )
        manifest = self.manifest()
        if manifest is None or not self.python.exists():
            return f"no prepared aarch64 Python at {self.path}; run `{PREPARE_COMMAND}`"
        for package in REQUIRED:
            theirs, ours = manifest.get("packages", {}).get(package), host_version(package)
            if theirs != ours:
                return (
                    f"the aarch64 Python at {self.path} has {package} {theirs}, this server "
                    f"{ours}; run `{PREPARE_COMMAND}` again"
                )
        return None

    def verify(self) -> list[str]:
        """Full check against the manifest: the files missing or changed (empty when intact)."""
        manifest = self.manifest()
        if manifest is None:
            return [MANIFEST]
        bad = []
        for rel, expected in manifest["files"].items():
            path = self.path / rel
            try:
                if _entry(path) != expected:
                    bad.append(rel)
            except OSError:
                bad.append(rel)
        return bad

    def ensure(self, log: Callable[[str], None] = print, force: bool = False) -> dict:
        """Prepare the tree unless an intact, current one is there; return its manifest.

        A lock serialises concurrent preparations (parallel test sessions).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with (self.path.parent / f".{self.path.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not force and self.why_not_ready() is None:
                bad = self.verify()
                if not bad:
                    return self.manifest() or {}
                log(f"{len(bad)} files differ from the manifest (e.g. {bad[0]}); preparing again")
            return self._prepare(log)

    # -- preparation -----------------------------------------------------------------------------

    def _prepare(self, log: Callable[[str], None]) -> dict:
        if qemu_binary() is None:
            raise RootfsError(f"{QEMU} is not installed: apt-get install qemu-user-static")
        if self.path.exists() and not (self.manifest_path.exists() or _is_ours(self.path)):
            raise RootfsError(
                f"{self.path} exists and is not an aarch64 tree of ours; remove it or set "
                "WP5_ARM_ROOTFS to another directory"
            )
        for stale in self.path.parent.glob(f".{self.path.name}.*"):
            # A build killed half way (we hold the lock, so none is running): up to 1 GB.
            if (stale / ".wp5-arm-building").exists():
                shutil.rmtree(stale, ignore_errors=True)
        build = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        try:
            (build / ".wp5-arm-building").touch()
            log("downloading Debian's arm64 Python packages")
            self._unpack_debs(build)
            log("installing aarch64 wheels (dask, distributed, numpy, awkward, uproot, coffea)")
            packages = self._install_wheels(build / SITE_IN_TREE)
            log("precompiling the Python modules")
            self._compile(build)
            (build / ".wp5-arm-building").unlink()
            manifest = write_manifest(build, packages)
            self._swap_in(build)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        log(f"aarch64 Python ready at {self.path} ({len(manifest['files'])} files)")
        return manifest

    def _unpack_debs(self, build: Path) -> None:
        debs = self.path.parent / f"{self.path.name}-debs"
        debs.mkdir(exist_ok=True)
        names = [f"{p}:arm64" for p in DEBIAN_PACKAGES] + list(ARCH_INDEPENDENT)
        done = subprocess.run(
            ["apt-get", "download", "-q", *names], cwd=debs, capture_output=True, text=True
        )
        if done.returncode != 0:
            if "Unable to locate" in done.stderr or "arm64" in done.stderr:
                raise RootfsError(f"{APT_HINT}: {done.stderr.strip().splitlines()[-1]}")
            raise RootfsError(f"apt-get download failed: {done.stderr.strip()[-500:]}")
        for deb in sorted(debs.glob("*.deb")):
            name = deb.name.split("_", 1)[0]
            if name in DEBIAN_PACKAGES or name in ARCH_INDEPENDENT:
                subprocess.run(["dpkg", "-x", str(deb), str(build)], check=True)

    def _install_wheels(self, site: Path) -> dict[str, str]:
        versions = {p: host_version(p) for p in REQUIRED}
        missing = [p for p, v in versions.items() if v is None]
        if missing:
            raise RootfsError(f"install {', '.join(missing)} beside jupyter-wp5 first")
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as constraints:
            # Every package the host has, at the host's version: workers unpickle what the
            # client pickles, so cloudpickle, msgpack, numpy... should match too.
            constraints.write("\n".join(_host_pins()))
            constraints.flush()

            def pip(*requirements: str) -> subprocess.CompletedProcess[str]:
                platforms = [a for p in WHEEL_PLATFORMS for a in ("--platform", p)]
                return subprocess.run(
                    [
                        sys.executable, "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "--target", str(site), *platforms,
                        "--only-binary=:all:", "--python-version", "3.11",
                        "--implementation", "cp", "-c", constraints.name, *requirements,
                    ],
                    capture_output=True, text=True,
                )  # fmt: skip

            required = [f"{p}=={v}" for p, v in versions.items()]
            if pip(*required, *OPTIONAL).returncode != 0:
                done = pip(*required)
                if done.returncode != 0:
                    raise RootfsError(f"no aarch64 wheels for {required}: {done.stderr[-800:]}")
                for package in OPTIONAL:  # each alone: one without wheels must not stop the rest
                    pip(package)
        found = {}
        for dist in importlib.metadata.distributions(path=[str(site)]):
            found[dist.metadata["Name"].lower()] = dist.version
        return {p: found[p] for p in REQUIRED + OPTIONAL if p in found}

    def _compile(self, build: Path) -> None:
        """Write .pyc files once: workers run with PYTHONDONTWRITEBYTECODE, and compiling under
        emulation at every start costs tens of seconds. 3.11 bytecode is the same on any CPU."""
        targets = [str(build / "usr/lib/python3.11"), str(build / SITE_IN_TREE)]
        if sys.version_info[:2] == (3, 11):
            command = [sys.executable]
        else:
            command = python_command(ArmRootfs(build))
        subprocess.run(
            [*command, "-m", "compileall", "-q", "-j", "0", *targets],
            capture_output=True,
            check=False,  # a test module with syntax for another Python is no reason to stop
        )

    def _swap_in(self, build: Path) -> None:
        old = None
        if self.path.exists():
            old = self.path.parent / f".{self.path.name}.old-{os.getpid()}"
            self.path.rename(old)
        build.rename(self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_manifest(tree: Path, packages: dict[str, str]) -> dict:
    """Record every file under ``tree`` (size and SHA-256) and the packages it holds."""
    manifest = {
        "format": FORMAT,
        "packages": packages,
        "debian": list(DEBIAN_PACKAGES + ARCH_INDEPENDENT),
        "files": {str(p.relative_to(tree)): _entry(p) for p in _walk(tree) if p.name != MANIFEST},
    }
    (tree / MANIFEST).write_text(json.dumps(manifest, indent=0, sort_keys=True))
    return manifest


def _is_ours(path: Path) -> bool:
    return (path / ".wp5-arm-building").exists() or not any(path.iterdir())


def _host_pins() -> list[str]:
    pins = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() != "jupyter-wp5" and name.lower() not in pins:
            pins[name.lower()] = f"{name}=={dist.version}"
    return sorted(pins.values())


# The host's Python settings must not leak into the aarch64 interpreter.
_UNSET = ("PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "MALLOC_TRIM_THRESHOLD_")


def python_command(rootfs: ArmRootfs) -> list[str]:
    """The command line of the emulated aarch64 Python (also usable as a shell prefix)."""
    qemu = qemu_binary() or QEMU
    unset = [a for name in _UNSET for a in ("-u", name)]
    return [
        "env", *unset,
        f"PYTHONPATH={rootfs.site}", "PYTHONNOUSERSITE=1", "PYTHONDONTWRITEBYTECODE=1",
        qemu, "-L", str(rootfs.path), str(rootfs.python),
    ]  # fmt: skip
