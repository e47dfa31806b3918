"""Download mode: copy a dataset's files into the user's scratch directory with rucio-clients'
DownloadClient, for sites without a storage element of their own.

DownloadClient verifies each file's adler32 after the copy and skips a file already present with
the right checksum, so running a download again resumes it. The job runs file by file in its own
bounded executor (one file per call, each with its own deadline) and reports progress as a
:class:`ReplicaProgress` in mode ``download``.

The process running a download holds an exclusive lock on ``<store dir>/downloads/<id>.lock``
(:class:`JobLocks`). The OS drops it when that process ends, however it ends, so a download
recorded as moving whose lock nobody holds was interrupted: a starting server resumes it
(:meth:`DownloadManager.resume`), and one that another live server runs is left to that server.
"""

from __future__ import annotations

import asyncio
import fcntl
import getpass
import logging
import os
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, Int, Unicode, default
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


class JobLocks:
    """One lock file per download in ``directory``, held (``flock``, exclusive) by the process
    that runs it.

    A lock belongs to an open file, not to a process: another manager in this same process
    (a second service over the same store) counts as another runner too.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._held: dict[str, int] = {}  # request id -> the open, locked file

    def _path(self, request_id: str) -> Path:
        return self.directory / f"{request_id}.lock"

    def take(self, request_id: str) -> bool:
        """Hold the request's lock, without waiting; False when another runner holds it."""
        if request_id in self._held:
            return True
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(request_id)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            # Its runner may have removed the file between our open and our lock: a lock on a
            # file no longer at the path guards nothing, so take the one there now.
            try:
                current = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                self._held[request_id] = fd
                return True
            os.close(fd)

    def release(self, request_id: str) -> None:
        """Give the request's lock up and remove its file (nothing when not held here)."""
        fd = self._held.pop(request_id, None)
        if fd is None:
            return
        # Removed while still locked, so that nobody takes a lock on a file about to go.
        self._path(request_id).unlink(missing_ok=True)
        os.close(fd)

    def discard(self, request_id: str) -> None:
        """Remove the request's lock file, unless another runner holds it."""
        if self.take(request_id):
            self.release(request_id)

    def held_elsewhere(self, request_id: str) -> bool:
        """Whether another runner holds the request's lock (so the download is live there)."""
        if request_id in self._held:
            return False
        try:
            fd = os.open(self._path(request_id), os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            # Shared: two servers asking at once do not see each other as the runner.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # and with it the shared lock
        return False


class DownloadManager(LoggingConfigurable):
    """Run download jobs in the background and report their progress."""

    scratch_dir = Unicode(
        config=True,
        help=f"Where downloads go (<scratch_dir>/<user>/<scope>/<dataset>/). Default: "
        f"${SCRATCH_ENV}, else ~/scratch.",
    )
    file_timeout = Float(3600.0, config=True, help="Seconds one file's download may take.")
    max_workers = Int(2, config=True, help="Files downloaded at the same time, over all jobs.")
    resume_interrupted = Bool(
        True,
        config=True,
        help="When the server starts, resume by itself every download that was interrupted "
        "(the server running it stopped or died), under the same request: files already there "
        "with the right checksum are kept, the others fetched. False: such a download shows as "
        "interrupted until the user requests it again.",
    )

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
        self._locks = JobLocks(Path(store.path).parent / "downloads")
        # Each job's current file call: a cancelled job's copy tool goes on with that file.
        self._copying: dict[str, asyncio.Future[str]] = {}
        # Awaited after each file lands, with the file as listed (the ledger records it).
        self.file_done: Callable[[ReplicaProgress, dict[str, Any]], Awaitable[None]] | None = None

    async def start(self, req: ReplicaRequest) -> ReplicaProgress:
        """List the files, record the request and start the download; return at once.

        When a download of the same DID from the same storage elements was interrupted and
        nobody runs it, that request goes on instead of a new one (its id, creation time and
        comment), so that a download asked for again resumes rather than doubles.
        """
        target, listed = await self._listing(req.did)
        progress = self._interrupted(str(req.did), req.rse_expression)
        if progress is None:
            progress = ReplicaProgress(
                id=uuid.uuid4().hex,
                did=str(req.did),
                rse_expression=req.rse_expression,
                state=ReplicaState.REPLICATING,
                copies=1,
                files_total=0,
                files_ok=0,
                files_replicating=0,
                files_stuck=0,
                comment=req.comment,
                created_at=now_text(),
                mode=ReplicaMode.DOWNLOAD,
            )
            self._locks.take(progress.id)  # a new id: nobody else holds it
        try:
            recorded = self._count_again(progress, listed)
        except Wp5Error:
            self._locks.release(progress.id)
            raise
        self._launch(progress, self._run(progress, listed, target, recorded))
        return progress

    def resume(
        self, admit: Callable[[DID], Awaitable[None]] | None = None
    ) -> list[ReplicaProgress]:
        """Take over every download recorded as moving whose runner is gone, and run it again
        in the background under its own request (id, creation time, comment); return them at
        once, shown as moving.

        A download whose lock another live process holds is left to it. Each one taken over is
        first ``admit``-ted (the admission of a new download) and its files listed again; when
        either fails (Rucio away, the grant gone) it stays interrupted, with one warning. Files
        already there with the right checksum are verified, not fetched again. Nothing happens
        when :attr:`resume_interrupted` is off.
        """
        if not self.resume_interrupted:
            return []
        resumed = []
        for stored in self.store.all():
            current = self._take_over(stored)
            if current is not None:
                self._launch(current, self._resume(current, admit))
                resumed.append(current)
        return resumed

    def _interrupted(self, did: str, rse_expression: str) -> ReplicaProgress | None:
        """An interrupted download of ``did`` from ``rse_expression``, taken over here."""
        for stored in self.store.all():
            if stored.did == did and stored.rse_expression == rse_expression:
                current = self._take_over(stored)
                if current is not None:
                    return current
        return None

    def _take_over(self, stored: ReplicaProgress) -> ReplicaProgress | None:
        """``stored`` as moving again with its lock held here, when it is a download recorded
        as moving that no live process runs; else None."""
        if stored.mode is not ReplicaMode.DOWNLOAD or not stored.is_moving:
            return None
        if stored.id in self._jobs:
            return None
        if not self._locks.take(stored.id):
            self.log.info(
                "wp5: download %s of %s runs in another live server; left to it",
                stored.id,
                stored.did,
            )
            return None
        # Read again under the lock: its runner may have finished (or the user cancelled it)
        # just before letting the lock go.
        current = self.store.get(stored.id)
        if current is None or not current.is_moving:
            self._locks.release(stored.id)
            return None
        current.state, current.error = ReplicaState.REPLICATING, None
        return current

    async def _resume(
        self, progress: ReplicaProgress, admit: Callable[[DID], Awaitable[None]] | None
    ) -> None:
        did = DID.parse(progress.did)
        try:
            if admit is not None:
                await admit(did)
            target, listed = await self._listing(did)
        except Wp5Error as err:
            self.log.warning(
                "wp5: download %s of %s not resumed (%s); it shows as interrupted until "
                "requested again",
                progress.id,
                progress.did,
                err.message,
            )
            return
        await self._run(progress, listed, target, self._count_again(progress, listed))

    def _count_again(self, progress: ReplicaProgress, listed: list[dict[str, Any]]) -> set[str]:
        """Record ``progress`` as a run of ``listed`` that has not begun; return the paths an
        interrupted run of it completed (they are in the ledger already)."""
        recorded = set(progress.paths)
        _count_from_start(progress, listed)
        self.store.save(progress)
        return recorded

    async def _listing(self, did: DID) -> tuple[Path, list[dict[str, Any]]]:
        """Where ``did`` goes and its files as Rucio lists them, checked."""

        def files(client: Any) -> list[dict[str, Any]]:
            client.get_did(did.scope, did.name)
            return list(client.list_files(did.scope, did.name))

        target = await asyncio.to_thread(confined_target, self.scratch_dir, did)
        listed = await self.connection.run(files)
        for f in listed:
            # File names become paths under the target: the same rules as the dataset's name.
            DID.of(f["scope"], f["name"])
        self._share_rucio_config()
        return target, listed

    def _launch(self, progress: ReplicaProgress, job: Coroutine[Any, Any, None]) -> None:
        """Run ``job`` in the background as ``progress``'s download, whose lock is held here."""

        def ended(task: asyncio.Task[None]) -> None:
            # A callback, not a finally: it runs for a job cancelled before it began, too.
            self._tasks.pop(progress.id, None)
            self._jobs.pop(progress.id, None)
            self._release_when_copied(progress.id)
            if not task.cancelled() and task.exception() is not None:
                self.log.error("wp5: download %s failed", progress.id, exc_info=task.exception())

        self._jobs[progress.id] = progress
        self._tasks[progress.id] = task = asyncio.create_task(job)
        task.add_done_callback(ended)

    def _release_when_copied(self, request_id: str) -> None:
        """Give the request's lock up, once the file a cancelled job was copying has landed:
        until then that copy still writes into scratch, and no other server may resume it."""
        copying = self._copying.pop(request_id, None)
        if copying is None or copying.done():
            self._locks.release(request_id)
            return

        def landed(call: asyncio.Future[str]) -> None:
            if not call.cancelled():
                call.exception()  # nobody awaits a cancelled job's last file: its end is known
            self._locks.release(request_id)

        copying.add_done_callback(landed)

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
        """A download's progress: live while this server runs it, else as last recorded (by
        the live server that runs it, or before it was interrupted)."""
        live = self._jobs.get(request_id)
        if live is not None:
            return live
        stored = self.store.get(request_id)
        if stored is None or stored.mode is not ReplicaMode.DOWNLOAD:
            return None
        if stored.is_moving and not self._locks.held_elsewhere(request_id):
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
            task.cancel()  # its end gives the lock up
        self._jobs.pop(request_id, None)
        self.store.remove(request_id)
        if task is None:
            # After the removal: a server taking the lock next finds nothing left to resume.
            self._locks.discard(request_id)

    async def _run(
        self,
        progress: ReplicaProgress,
        listed: list[dict[str, Any]],
        target: Path,
        recorded: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        failures: list[str] = []
        for f in listed:
            copying = self._copying[progress.id] = asyncio.ensure_future(
                self._executor.run(
                    self.connection.call,
                    lambda c, f=f: self._download_one(c, f, target, progress.rse_expression),
                )
            )
            try:
                # Shielded: cancelling the job leaves the call to tell when the file has landed.
                path = await asyncio.shield(copying)
            except Wp5Error as err:
                failures.append(f"{f['name']}: {err.message}")
                progress.files_stuck += 1
            else:
                progress.files_ok += 1
                progress.bytes_ok = (progress.bytes_ok or 0) + int(f.get("bytes") or 0)
                progress.paths.append(path)
                if self.file_done is not None and path not in recorded:
                    await self.file_done(progress, f)
            progress.files_replicating -= 1
            self.store.save(progress)
        progress.state = ReplicaState.STUCK if failures else ReplicaState.OK
        progress.error = "; ".join(failures) or None
        self.store.save(progress)

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
        """Stop every running download (the next server resumes them) and the threads.

        A download's lock is given up once the file it was copying has landed (its copy tool
        goes on with it), or with this process.
        """
        for task in list(self._tasks.values()):
            task.cancel()
        self._executor.shutdown()


def _count_from_start(progress: ReplicaProgress, listed: list[dict[str, Any]]) -> None:
    """Set ``progress`` to a run of ``listed`` that has not begun."""
    progress.files_total = progress.files_replicating = len(listed)
    progress.files_ok = progress.files_stuck = 0
    progress.bytes_total = sum(int(f.get("bytes") or 0) for f in listed)
    progress.bytes_ok = 0
    progress.paths = []
