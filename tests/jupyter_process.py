"""A real ``jupyter server`` in a process of its own, with the wp5 extension (enabled by its
installed configuration), for tests of what happens to that process: stopped, killed, started
again over the same files."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path


class Server:
    """A ``jupyter server`` child process on a port it chose itself (port 0), in a session of its
    own, so that a test can kill it together with what it started (a copy tool, say).

    ``root`` is its home, root and runtime directory and holds its log (``server.log``); ``args``
    are more command-line options (``--Class.trait=value``), ``env`` more environment variables.
    """

    def __init__(self, root: Path, *args: str, env: Mapping[str, str] | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.token = secrets.token_hex(16)
        self.log_path = root / "server.log"
        runtime = root / "runtime"
        environ = {
            **os.environ,
            **(env or {}),
            "HOME": str(root),
            "JUPYTER_RUNTIME_DIR": str(runtime),
            "JUPYTER_TOKEN": self.token,
        }
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "server",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port=0",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_root=True",
                f"--ServerApp.root_dir={root}",
                *args,
            ],
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # The server writes the address it listens on (port included) into its runtime file.
        info = runtime / f"jpserver-{self.proc.pid}.json"
        deadline = time.monotonic() + 60
        while not info.exists():
            assert self.proc.poll() is None, self.log_text()
            assert time.monotonic() < deadline, "the Jupyter server did not start"
            time.sleep(0.1)
        self.url = json.loads(info.read_text())["url"]
        # It writes that file before it listens (it binds once its event loop runs).
        while not self._answers():
            assert self.proc.poll() is None, self.log_text()
            assert time.monotonic() < deadline, "the Jupyter server never listened"
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "api", timeout=10):
                return True
        except urllib.error.HTTPError:
            return True
        except urllib.error.URLError:
            return False

    def log_text(self) -> str:
        """What the server logged so far."""
        return self.log_path.read_text(errors="replace")

    def request(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        """``method path`` with the server's token; the status and the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data if method != "POST" or data else b"",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=120) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None

    def kill(self) -> None:
        """SIGKILL the server and every process of its session, as a crash or an OOM kill of the
        whole job would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def close(self) -> None:
        """Kill what is left of the server's session and close its log."""
        if self.proc.poll() is None:
            self.kill()
        self.log.close()
