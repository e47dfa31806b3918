"""How a kernel finds the Jupyter server that started it, with no secret in any environment.

The server writes ``wp5-server-<pid>.json`` (its URL and token) into the user's Jupyter runtime
directory with ``secure_write`` (mode 0600) and removes it when it stops. A kernel reads the file
of its nearest ancestor process that has one: the server that started it. Children do not inherit
a file the way they inherit variables, so local Dask workers and batch jobs (which copy the
environment) carry no token.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
from jupyter_core.paths import jupyter_runtime_dir, secure_write

PREFIX = "wp5-server-"


def server_file(pid: int, runtime_dir: str | Path | None = None) -> Path:
    """The runtime file of the Jupyter server running as process ``pid``."""
    return Path(runtime_dir or jupyter_runtime_dir()) / f"{PREFIX}{pid}.json"


def write_server_file(url: str, token: str, runtime_dir: str | Path) -> Path:
    """Write this process's file (0600); returns its path."""
    path = server_file(os.getpid(), runtime_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with secure_write(str(path)) as f:
        json.dump({"url": url, "token": token, "pid": os.getpid()}, f)
    return path


def find_server(runtime_dir: str | Path | None = None) -> tuple[str, str] | None:
    """URL and token of the nearest ancestor that is a Jupyter server with jupyter-wp5, if any."""
    for process in psutil.Process().parents():
        path = server_file(process.pid, runtime_dir)
        try:
            stat = path.stat()
            # A file older than the process is a dead server's whose pid was reused.
            if stat.st_uid != os.getuid() or stat.st_mtime < process.create_time():
                continue
            data = json.loads(path.read_text())
        except (OSError, ValueError, psutil.Error):
            continue
        if isinstance(data, dict) and isinstance(data.get("url"), str) and data["url"]:
            return data["url"], str(data.get("token") or "")
    return None
