"""The Rucio server's own virtual environment.

The server package pins many upper bounds (urllib3, SQLAlchemy, ...) and contains a client of its
own, so it never goes into the project's environment: it lives in a separate virtualenv created on
first use. Nothing from ``jupyter_wp5`` is imported inside it; code that runs there is a plain
script in ``scripts/``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RUCIO_VERSION", "ServerVenv", "default_venv_path", "ensure_server_venv"]

RUCIO_VERSION = "41.5.1"

# rucio itself (werkzeug, whose dev server is what we serve with, and flask come with it) and
# psycopg 3, SQLAlchemy's ``postgresql+psycopg`` driver for a playground on PostgreSQL.
_POSTGRES_DRIVER = "psycopg[binary]>=3.1,<4"
_REQUIREMENTS = [f"rucio=={RUCIO_VERSION}", _POSTGRES_DRIVER]
_MARKER = ".wp5-ready"
_BUILDING = ".wp5-building"


@dataclass(frozen=True)
class ServerVenv:
    """Paths inside a ready server virtualenv."""

    path: Path

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.path / "bin" / "python"

    @property
    def rucio_package(self) -> Path:
        """Directory of the installed ``rucio`` package (alembic's migrations live under it)."""
        found = sorted(self.path.glob("lib/python3*/site-packages/rucio"))
        if not found:
            raise RuntimeError(f"no rucio package in {self.path}")
        return found[0]


def default_venv_path() -> Path:
    """``$WP5_RUCIO_VENV``, else ``~/.cache/jupyter-wp5/rucio-<version>``."""
    env = os.environ.get("WP5_RUCIO_VENV")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "jupyter-wp5" / f"rucio-{RUCIO_VERSION}"


def _has_postgres_driver(path: Path) -> bool:
    return any(True for _ in path.glob("lib/python3*/site-packages/psycopg-3*.dist-info"))


def _is_ready(path: Path) -> bool:
    marker = path / _MARKER
    if marker.is_file() and marker.read_text().strip() == RUCIO_VERSION:
        return True
    # A venv made by someone else (WP5_RUCIO_VENV) is fine when it has this rucio version.
    installed = path.glob(f"lib/python3*/site-packages/rucio-{RUCIO_VERSION}.dist-info")
    return (path / "bin" / "python").exists() and any(True for _ in installed)


def ensure_server_venv(path: Path | None = None, log: Path | None = None) -> ServerVenv:
    """Return the server venv at ``path``, creating it first when needed (about 20 s).

    A lock file serialises concurrent first uses (parallel test sessions). A venv that an
    interrupted build of ours left behind is rebuilt; any other existing directory is refused.
    """
    path = (path or default_venv_path()).resolve()
    if _is_ready(path) and _has_postgres_driver(path):
        return ServerVenv(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.parent / f".{path.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_ready(path):
            # A venv made before the PostgreSQL driver was a requirement gets it added.
            if not _has_postgres_driver(path):
                _pip_install(path, [_POSTGRES_DRIVER], log)
            return ServerVenv(path)
        if path.exists():
            # Only ever delete what an interrupted earlier build of ours left behind.
            if not (path / _BUILDING).exists():
                raise RuntimeError(
                    f"{path} exists but is not a rucio {RUCIO_VERSION} virtualenv; remove it or "
                    "set WP5_RUCIO_VENV to another directory"
                )
            shutil.rmtree(path)
        path.mkdir(parents=True)
        (path / _BUILDING).touch()
        _run_logged([sys.executable, "-m", "venv", str(path)], path, log)
        _pip_install(path, _REQUIREMENTS, log)
        (path / _MARKER).write_text(RUCIO_VERSION)
        (path / _BUILDING).unlink()
    return ServerVenv(path)


def _pip_install(path: Path, requirements: list[str], log: Path | None) -> None:
    python = str(path / "bin" / "python")
    cmd = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run_logged([*cmd, *requirements], path, log)


def _run_logged(cmd: list[str], path: Path, log: Path | None) -> None:
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        subprocess.run(cmd, check=True, stdout=out, stderr=out)
    except subprocess.CalledProcessError as err:
        where = f"; see {log}" if log is not None else ""
        raise RuntimeError(f"could not create the Rucio server venv at {path}{where}") from err
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]
