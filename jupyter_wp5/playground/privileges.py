"""Servers that refuse to run as root (XRootD, PostgreSQL): an unprivileged user and directories
it can reach."""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import tempfile
from pathlib import Path

__all__ = [
    "chown_tree",
    "others_can_traverse",
    "reachable_dir",
    "running_as_root",
    "write_private",
]


def running_as_root() -> bool:
    """Whether this process runs as root (the servers then drop to an unprivileged user)."""
    return os.geteuid() == 0


def others_can_traverse(path: Path) -> bool:
    """Whether a user other than the owner can reach ``path`` (x for others on every parent)."""
    for parent in [path, *path.parents]:
        if parent.exists() and not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
    return True


def reachable_dir(root: Path, name: str, unprivileged: bool) -> Path:
    """Directory ``name`` of the playground at ``root``, reachable by an unprivileged server.

    Normally ``root/name``. When a server runs as an unprivileged user while ``root`` sits below
    a private directory (``/root``, pytest's ``/tmp/pytest-of-root``), the directory goes to a
    per-playground place in the system temp dir instead (the caller links ``root/name`` to it).
    """
    inside = root / name
    if not unprivileged or others_can_traverse(root):
        return inside
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"jupyter-wp5-{name}-{digest}"


def chown_tree(path: Path, user: str) -> None:
    """Hand ``path`` and everything below it (symlinks themselves, not targets) to ``user``."""
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (mode 0600 from the start: it
    holds a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # a file that existed keeps its mode through os.open
