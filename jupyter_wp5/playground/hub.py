"""JupyterHub in front of the playground: give each user's server that user's own rucio.cfg.

Called from ``jupyterhub_config.py`` (see docs/admin-guide.md, "JupyterHub"), in the hub
process, which runs as root so that it can start servers as the users' system accounts.
"""

from __future__ import annotations

import configparser
import os
import pwd
import stat
from pathlib import Path

__all__ = ["USER_CONFIG", "install_rucio_config", "write_user_rucio_config"]

# Where a user's server finds its rucio.cfg, relative to the user's home directory.
USER_CONFIG = Path(".config") / "wp5" / "rucio.cfg"


def install_rucio_config(source: Path, username: str) -> Path:
    """Copy the playground's client rucio.cfg of ``username``'s account into that user's home
    (``~/.config/wp5/rucio.cfg``, see :func:`write_user_rucio_config`) and return its path."""
    user = pwd.getpwnam(username)
    return write_user_rucio_config(source, Path(user.pw_dir), user.pw_uid, user.pw_gid)


def write_user_rucio_config(source: Path, home: Path, uid: int, gid: int) -> Path:
    """Write ``source`` to ``home/.config/wp5/rucio.cfg`` (directory 0700, file 0600, both
    owned by ``uid``), with the Rucio token cached beside it.

    The home belongs to the user while this runs as root: a directory on the way that is a
    symbolic link, or not the user's, is refused rather than followed.
    """
    cfg = configparser.ConfigParser(interpolation=None)
    if not cfg.read(source):
        raise FileNotFoundError(f"no rucio.cfg at {source}")
    target = home / USER_CONFIG
    cfg["client"]["auth_token_file_path"] = str(target.with_name("rucio.token"))
    for directory in (target.parent.parent, target.parent):
        try:
            info = directory.lstat()
        except FileNotFoundError:
            directory.mkdir(mode=0o700)
            os.chown(directory, uid, gid)
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            raise PermissionError(f"{directory} is not a directory of the user's own")
    os.chmod(target.parent, 0o700)
    # Created 0600 before a byte is written, so the password is never readable by others.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchown(fh.fileno(), uid, gid)
        os.fchmod(fh.fileno(), 0o600)
        cfg.write(fh)
    return target
