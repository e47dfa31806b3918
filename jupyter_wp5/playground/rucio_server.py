"""The playground's Rucio server: schema bootstrap and the REST service process."""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from .processes import ProcessRegistry, port_is_free, wait_until
from .rucio_config import RucioFiles
from .rucio_env import ServerVenv

__all__ = ["RucioServer"]

SCRIPTS = Path(__file__).parent / "scripts"
PROCESS_NAME = "rucio-server"


class RucioServer:
    """Rucio's REST API served from its own venv on ``127.0.0.1:port``.

    ``stop()`` and ``start()`` may be called any number of times; the port stays the same, so
    clients configured once keep working across a restart (tests use this to simulate an outage).
    """

    def __init__(
        self, venv: ServerVenv, files: RucioFiles, port: int, processes: ProcessRegistry
    ) -> None:
        self.venv = venv
        self.files = files
        self.port = port
        self.processes = processes

    @property
    def url(self) -> str:
        """Base URL of the REST API."""
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """Environment of the server's processes (its venv, the server rucio.cfg)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RUCIO_", "PYTHON"))}
        env["RUCIO_CONFIG"] = str(self.files.server_cfg)
        env.pop("VIRTUAL_ENV", None)
        return env

    def init_database(self) -> None:
        """Create schema, base VO and root account in a fresh SQLite file (about 2 s)."""
        log = self.processes.log_dir / "rucio-init-db.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            done = subprocess.run(
                [str(self.venv.python), str(SCRIPTS / "rucio_init_db.py")],
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"building the Rucio database failed; see {log}")

    def ping(self, timeout: float = 2.0) -> bool:
        """Whether ``/ping`` answers."""
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=timeout) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def running(self) -> bool:
        """Whether the server process is alive."""
        proc = self.processes.get(PROCESS_NAME)
        return proc is not None and proc.running()

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (no-op when running) and wait until ``/ping`` answers."""
        if self.running():
            return
        if not port_is_free(self.port):
            raise RuntimeError(
                f"port {self.port} for the Rucio server is taken by another program; stop it "
                "or start the playground with fresh=True (--fresh) to choose new ports"
            )
        proc = self.processes.spawn(
            PROCESS_NAME,
            [str(self.venv.python), str(SCRIPTS / "rucio_serve.py"), str(self.port)],
            env=self.environment(),
            cwd=self.files.dir,
        )
        wait_until(self.ping, timeout, f"Rucio server on {self.url}", proc=proc)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server process; the port is kept for the next ``start()``."""
        self.processes.stop(PROCESS_NAME, timeout)
