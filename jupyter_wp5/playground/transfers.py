"""The playground's transfer daemons: Rucio's judge and conveyor in one process of the server venv.

They move bytes with the playground's own transfertool (``scripts/wp5_transfertool.py``), the
stand-in for FTS: xrdcp between XRootD storage elements, a plain copy between directories, adler32
verified either way.
"""

from __future__ import annotations

from .processes import ProcessRegistry, wait_until
from .rucio_server import SCRIPTS, RucioServer

__all__ = ["TransferDaemons"]

PROCESS_NAME = "rucio-transfers"
_READY = "transfer daemons running"


class TransferDaemons:
    """Judge-evaluator, conveyor submitter/poller/finisher, judge-repairer and judge-cleaner.

    Parameters
    ----------
    server:
        The Rucio server whose venv and configuration the daemons share.
    processes:
        Registry the daemon process is started in.
    repair_after:
        Seconds a STUCK rule waits before judge-repairer looks at it. Rucio itself retries stuck
        copies only after hours; an owner's retry (``boost_rule``) makes them due at once.
    """

    def __init__(
        self, server: RucioServer, processes: ProcessRegistry, repair_after: int = 15
    ) -> None:
        self.server = server
        self.processes = processes
        self.repair_after = repair_after

    def running(self) -> bool:
        """Whether the daemon process is alive."""
        proc = self.processes.get(PROCESS_NAME)
        return proc is not None and proc.running()

    def start(self, timeout: float = 60.0) -> None:
        """Start the daemons (no-op when running) and wait until their loop runs."""
        if self.running():
            return
        log = self.processes.log_dir / f"{PROCESS_NAME}.log"
        offset = log.stat().st_size if log.exists() else 0
        proc = self.processes.spawn(
            PROCESS_NAME,
            [
                str(self.server.venv.python),
                str(SCRIPTS / "rucio_transfers.py"),
                "--repair-after",
                str(self.repair_after),
            ],
            env=self.server.environment(),
            cwd=self.server.files.dir,
        )

        def ready() -> bool:
            with log.open("rb") as fh:
                fh.seek(offset)
                return _READY.encode() in fh.read()

        wait_until(ready, timeout, "Rucio transfer daemons", proc=proc)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the daemon process."""
        self.processes.stop(PROCESS_NAME, timeout)
