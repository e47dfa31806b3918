"""Download mode: copy a dataset's files into the user's scratch directory with rucio-clients'
DownloadClient, for sites without a storage element of their own.

DownloadClient verifies each file's adler32 after the copy and skips a file already present with
the right checksum, so asking again resumes an interrupted download. The job runs file by file in
its own bounded executor (one file per call, each with its own deadline) and reports progress as a
:class:`ReplicaProgress` in mode ``download``.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from traitlets import Float, Int, Unicode, default
from traitlets.config import LoggingConfigurable

from ..executor import BlockingExecutor
from ..models import (
    DID,
    Conflict,
    ReplicaMode,
    ReplicaProgress,
    ReplicaRequest,
    ReplicaState,
    Wp5Error,
)
from .request_store import RequestStore
from .rucio_connection import RucioConnection

SCRATCH_ENV = "WP5_SCRATCH"
# os.environ is process-wide: one download manager at a time may set $RUCIO_CONFIG briefly.
_ENVIRON_LOCK = threading.Lock()


def now_text() -> str:
    """The time in the format Rucio uses for ``created_at``, so both kinds sort together."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def confined_target(scratch_dir: str, did: DID) -> Path:
    """``<scratch_dir>/<user>/<scope>/<name>``, made sure to stay inside the user's own directory.

    :meth:`DID.of` already refuses empty, ``.`` and ``..`` segments; a symbolic link on the way
    (planted, or left from elsewhere) could still lead out, so none is followed. The user's
    directory is created private (0700).
    """
    root = Path(scratch_dir).expanduser().resolve()
    user_dir = root / getpass.getuser()
    target = user_dir.joinpath(did.scope, *did.name.split("/"))
    node = root
    for part in target.relative_to(root).parts:
        node = node / part
        if node.is_symlink():
            raise Conflict(f"{node} is a symbolic link; downloads never follow one")
    user_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not target.resolve().is_relative_to(user_dir):
        raise Conflict(f"{did} would be downloaded outside {user_dir}")
    return target


class DownloadManager(LoggingConfigurable):
    """Run download jobs in the background and report their progress."""

    scratch_dir = Unicode(
        config=True,
        help=f"Where downloads go (<scratch_dir>/<user>/<scope>/<dataset>/). Default: "
        f"${SCRATCH_ENV}, else ~/scratch.",
    )
    file_timeout = Float(3600.0, config=True, help="Seconds one file's download may take.")
    max_workers = Int(2, config=True, help="Files downloaded at the same time, over all jobs.")

    @default("scratch_dir")
    def _default_scratch(self) -> str:
        return os.environ.get(SCRATCH_ENV) or str(Path.home() / "scratch")

    def __init__(self, connection: RucioConnection, store: RequestStore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connection = connection
        self.store = store
        self._executor = BlockingExecutor("Rucio download", self.max_workers, self.file_timeout)
        self._jobs: dict[str, ReplicaProgress] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Awaited after each file lands, with the file as listed (the ledger records it).
        self.file_done: Callable[[ReplicaProgress, dict[str, Any]], Awaitable[None]] | None = None

    async def start(self, req: ReplicaRequest) -> ReplicaProgress:
        """List the files, record the request and start the download; return at once."""
        did = req.did

        def files(client: Any) -> list[dict[str, Any]]:
            client.get_did(did.scope, did.name)
            return list(client.list_files(did.scope, did.name))

        target = await asyncio.to_thread(confined_target, self.scratch_dir, did)
        listed = await self.connection.run(files)
        for f in listed:
            # File names become paths under the target: the same rules as the dataset's name.
            DID.of(f["scope"], f["name"])
        self._share_rucio_config()
        progress = ReplicaProgress(
            id=uuid.uuid4().hex,
            did=str(did),
            rse_expression=req.rse_expression,
            state=ReplicaState.REPLICATING,
            copies=1,
            files_total=len(listed),
            files_ok=0,
            files_replicating=len(listed),
            files_stuck=0,
            bytes_total=sum(int(f.get("bytes") or 0) for f in listed),
            bytes_ok=0,
            comment=req.comment,
            created_at=now_text(),
            mode=ReplicaMode.DOWNLOAD,
        )
        self.store.save(progress)
        self._jobs[progress.id] = progress
        self._tasks[progress.id] = asyncio.create_task(self._run(progress, listed, target))
        return progress

    def _share_rucio_config(self) -> None:
        # DownloadClient reads rucio's process-wide configuration (its policy plugins), which
        # rucio loads once from $RUCIO_CONFIG and cannot be handed ours. Where the process has
        # none, load ours into it, but set the variable only for that moment: left set, it would
        # reach every later connection and every kernel this server starts.
        if os.environ.get("RUCIO_CONFIG") or not self.connection.rucio_config:
            return
        from rucio.common.config import get_config

        with _ENVIRON_LOCK:
            os.environ["RUCIO_CONFIG"] = self.connection.rucio_config
            try:
                get_config()
            finally:
                os.environ.pop("RUCIO_CONFIG", None)

    def get(self, request_id: str) -> ReplicaProgress | None:
        """A download's progress: live while this server runs it, else as last recorded."""
        live = self._jobs.get(request_id)
        if live is not None:
            return live
        stored = self.store.get(request_id)
        if stored is None or stored.mode is not ReplicaMode.DOWNLOAD:
            return None
        if stored.is_moving:
            # Recorded as running, but no server runs it now: it was interrupted.
            stored.state = ReplicaState.STUCK
            stored.error = (
                "interrupted (the Jupyter server stopped); request it again to resume: files "
                "already downloaded are kept and verified"
            )
        return stored

    async def cancel(self, request_id: str) -> None:
        """Stop a running download after its current file and forget it; files stay on disk."""
        task = self._tasks.pop(request_id, None)
        if task is not None:
            task.cancel()
        self._jobs.pop(request_id, None)
        self.store.remove(request_id)

    async def _run(
        self, progress: ReplicaProgress, listed: list[dict[str, Any]], target: Path
    ) -> None:
        failures: list[str] = []
        try:
            for f in listed:
                try:
                    path = await self._executor.run(
                        self.connection.call,
                        lambda c, f=f: self._download_one(c, f, target, progress.rse_expression),
                    )
                except Wp5Error as err:
                    failures.append(f"{f['name']}: {err.message}")
                    progress.files_stuck += 1
                else:
                    progress.files_ok += 1
                    progress.bytes_ok = (progress.bytes_ok or 0) + int(f.get("bytes") or 0)
                    progress.paths.append(path)
                    if self.file_done is not None:
                        await self.file_done(progress, f)
                progress.files_replicating -= 1
                self.store.save(progress)
            progress.state = ReplicaState.STUCK if failures else ReplicaState.OK
            progress.error = "; ".join(failures) or None
            self.store.save(progress)
        finally:
            self._tasks.pop(progress.id, None)
            self._jobs.pop(progress.id, None)

    def _download_one(self, client: Any, f: dict[str, Any], target: Path, rse: str) -> str:
        from rucio.client.downloadclient import DownloadClient

        # Some rucio modules empty the cached configuration when they set up logging.
        self._share_rucio_config()

        item: dict[str, Any] = {
            "did": f"{f['scope']}:{f['name']}",
            "base_dir": str(target),
            "no_subdir": True,
        }
        if rse:
            item["rse"] = rse
        downloader = DownloadClient(client=client, logger=self._log, tracing=False)
        (result,) = downloader.download_dids([item])
        return str(result["dest_file_paths"][0])

    def _log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        # DownloadClient narrates every step at INFO; that is debug detail for the server.
        self.log.log(logging.DEBUG if level <= logging.INFO else level, msg, *args)

    def close(self) -> None:
        """Stop every running download (they resume when asked again) and the threads."""
        for task in list(self._tasks.values()):
            task.cancel()
        self._executor.shutdown()
