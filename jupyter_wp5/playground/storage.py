"""Storage elements of the playground: XRootD servers, or plain directories without XRootD."""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .privileges import chown_tree, reachable_dir, running_as_root
from .processes import ProcessRegistry, port_is_free, wait_until

__all__ = ["StorageElement", "storage_base", "xrootd_available"]

XROOTD_EXPORT = "/rucio"
XROOTD_PREFIX = "//rucio/"
_UNPRIVILEGED = "nobody"


def xrootd_available() -> bool:
    """Whether the XRootD server and the client tools Rucio shells out to are installed."""
    return all(shutil.which(tool) for tool in ("xrootd", "xrdcp", "xrdfs"))


def storage_base(root: Path, use_xrootd: bool) -> Path:
    """Directory under which each storage element keeps its files.

    Normally ``root/storage``. XRootD refuses to run as root, so as root it runs as ``nobody``,
    which must be able to reach its files (see :func:`.privileges.reachable_dir`).
    """
    return reachable_dir(root, "storage", use_xrootd and running_as_root())


@dataclass
class StorageElement:
    """One RSE's storage: its directory and, with XRootD, the server's port."""

    rse: str
    directory: Path
    port: int | None = None
    #: Bytes per second the XRootD server reads and writes at most (``None``: unlimited); lets a
    #: test stop the storage while a copy is still running.
    throughput: int | None = None

    @property
    def uses_xrootd(self) -> bool:
        """Whether an XRootD server fronts this storage."""
        return self.port is not None

    @property
    def data_dir(self) -> Path:
        """Where the files are (XRootD serves ``data_dir/rucio`` as ``/rucio``)."""
        return self.directory / "data"

    @property
    def offline_dir(self) -> Path:
        """Where a directory RSE's files wait while it is offline (see :meth:`stop`)."""
        return self.directory / "offline"

    @property
    def url(self) -> str:
        """The storage's address: an XRootD URL, or the directory of a posix RSE."""
        if self.port is not None:
            return f"root://127.0.0.1:{self.port}{XROOTD_PREFIX}"
        return str(self.data_dir)

    @property
    def process_name(self) -> str:
        """Name of its XRootD process in the registry."""
        return f"xrootd-{self.rse}"

    def protocol(self) -> dict[str, Any]:
        """The RSE protocol Rucio uses to reach this storage."""
        domains = {
            "lan": {"read": 1, "write": 1, "delete": 1},
            "wan": {
                "read": 1,
                "write": 1,
                "delete": 1,
                "third_party_copy_read": 1,
                "third_party_copy_write": 1,
            },
        }
        if self.port is not None:
            return {
                "scheme": "root",
                "hostname": "127.0.0.1",
                "port": self.port,
                "prefix": XROOTD_PREFIX,
                "impl": "rucio.rse.protocols.xrootd.Default",
                "domains": domains,
            }
        return {
            "scheme": "file",
            "hostname": "localhost",
            "port": 0,
            "prefix": str(self.data_dir) + "/",
            "impl": "rucio.rse.protocols.posix.Default",
            "domains": domains,
        }

    # -- XRootD process ----------------------------------------------------------------------

    def _write_xrootd_config(self) -> Path:
        admin = self.directory / "xrd"
        (self.data_dir / XROOTD_EXPORT.strip("/")).mkdir(parents=True, exist_ok=True)
        admin.mkdir(parents=True, exist_ok=True)
        cfg = self.directory / "xrootd.cfg"
        cfg.write_text(
            "\n".join(
                [
                    f"xrd.port {self.port}",
                    # Serve loopback clients only.
                    "xrd.allow host localhost",
                    f"all.export {XROOTD_EXPORT}",
                    f"oss.localroot {self.data_dir}",
                    f"all.adminpath {admin}",
                    f"all.pidpath {admin}",
                    # Rucio verifies uploads and transfers with adler32.
                    "xrootd.chksum adler32",
                    *self._throttle_lines(),
                    "",
                ]
            )
        )
        return cfg

    def _throttle_lines(self) -> list[str]:
        if self.throughput is None:
            return []
        # XRootD's own throttle plugin (shipped with xrootd-server).
        return ["xrootd.fslib throttle default", f"throttle.throttle data {self.throughput}"]

    def prepare(self) -> None:
        """Create the storage directories (and the XRootD config)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.uses_xrootd:
            self._write_xrootd_config()

    def start(self, processes: ProcessRegistry, timeout: float = 20.0) -> None:
        """Start this storage's XRootD server; a directory RSE taken offline comes back."""
        if not self.uses_xrootd:
            if self.offline_dir.exists():
                self.offline_dir.rename(self.data_dir)
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return
        assert self.port is not None
        if not port_is_free(self.port):
            raise RuntimeError(
                f"port {self.port} for {self.rse}'s XRootD server is taken by another program; "
                "stop it or start the playground fresh to choose new ports"
            )
        cfg = self._write_xrootd_config()
        cmd = ["xrootd", "-c", str(cfg)]
        if running_as_root():
            # xrootd refuses to run as root: hand its directories to an unprivileged user.
            chown_tree(self.directory, _UNPRIVILEGED)
            cmd += ["-R", _UNPRIVILEGED]
        proc = processes.spawn(self.process_name, cmd, cwd=self.directory)
        wait_until(self._answers, timeout, f"XRootD for {self.rse}", proc=proc)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port or 0), timeout=0.5):
                pass
        except OSError:
            return False
        done = subprocess.run(
            ["xrdfs", f"127.0.0.1:{self.port}", "stat", XROOTD_EXPORT],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return done.returncode == 0

    def stop(self, processes: ProcessRegistry) -> None:
        """Take this storage offline: stop its XRootD server, or move a directory RSE's files
        aside (``start`` brings them back)."""
        if self.uses_xrootd:
            processes.stop(self.process_name)
        elif self.data_dir.exists():
            self.data_dir.rename(self.offline_dir)
