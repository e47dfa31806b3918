"""The playground's stand-in for FTS: a Rucio transfertool that copies files itself.

Runs inside the Rucio server virtualenv (never imports jupyter_wp5), registered into Rucio's
transfertool table by ``rucio_transfers.py``. Production facilities use FTS; nothing in the
extension depends on this module.

Between XRootD storage elements it copies with ``xrdcp --cksum adler32:<expected>`` and then asks
the destination server for the checksum again; between directory storage elements it copies to
a temporary name, checks size and adler32 and only then renames. A copy that fails or does not
match is reported FAILED with its reason (the bad destination file is removed), so Rucio
retries it and finally marks the lock STUCK: a replica never becomes AVAILABLE without its bytes.

The copies happen during ``submit``, ``parallel_copies`` at a time (as FTS runs several transfers
per link at once: one copy leaves the link idle while xrdcp starts and the checksums are
computed); ``bulk_query`` reports the outcomes recorded then. Outcomes live in this process
only: a request submitted by an earlier daemon process is reported LOST, which Rucio retries like
a failed submission.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import logging
import os
import shutil
import subprocess
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

from rucio.db.sqla.constants import RequestState
from rucio.transfertool.transfertool import TransferStatusReport, Transfertool, TransferToolBuilder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from rucio.common.types import LoggerFunction
    from rucio.core.request import DirectTransfer
    from rucio.db.sqla.session import Session

HOST = "wp5-playground-copy"
# Fail fast when a storage server is down instead of XRootD's default minutes of reconnecting.
_XRD_ENV = {
    "XRD_CONNECTIONRETRY": "1",
    "XRD_CONNECTIONWINDOW": "5",
    "XRD_REQUESTTIMEOUT": "30",
    "XRD_STREAMTIMEOUT": "30",
}
_COPY_TIMEOUT = 120


class CopyFailed(Exception):
    """A copy did not produce the expected bytes at the destination (message: the reason)."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one request's copy."""

    state: RequestState
    reason: str | None
    started_at: datetime.datetime
    transferred_at: datetime.datetime


class CopyStatusReport(TransferStatusReport):
    """A recorded outcome in the form Rucio's poller applies to the request."""

    supported_db_fields = ["state", "external_id", "started_at", "transferred_at", "err_msg"]

    def __init__(self, request_id: str, external_id: str, outcome: Outcome | None) -> None:
        super().__init__(request_id)
        self.external_id = external_id
        if outcome is None:
            self.state = RequestState.LOST
            self.err_msg = "transfer lost: the playground's transfer daemon was restarted"
            self.started_at = self.transferred_at = None
        else:
            self.state = outcome.state
            self.err_msg = outcome.reason
            self.started_at = outcome.started_at
            self.transferred_at = outcome.transferred_at

    def initialize(self, session: Session, logger: LoggerFunction = logging.log) -> None:
        """Everything is known at construction."""

    def get_monitor_msg_fields(
        self, session: Session, logger: LoggerFunction = logging.log
    ) -> dict[str, Any]:
        """Fields for Rucio's monitoring messages."""
        return {"reason": self.err_msg, "transfer_link": None}


def adler32_of_file(path: str) -> str:
    """adler32 of a local file as Rucio writes it (8 lower-case hex digits)."""
    value = 1
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=_COPY_TIMEOUT,
            env={**os.environ, **_XRD_ENV},
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise CopyFailed(f"{cmd[0]} timed out after {_COPY_TIMEOUT} s") from err


def _xrootd_checksum(url: str) -> str:
    parsed = urlparse(url)
    done = _run(["xrdfs", parsed.netloc, "query", "checksum", parsed.path])
    if done.returncode != 0:
        raise CopyFailed(f"checksum query failed for {url}: {done.stderr.strip()}")
    # "adler32 0a1b2c3d"
    return done.stdout.split()[-1].lower().zfill(8)


def _xrootd_remove(url: str) -> None:
    parsed = urlparse(url)
    _run(["xrdfs", parsed.netloc, "rm", parsed.path])


def _copy_xrootd(source: str, dest: str, adler32: str) -> None:
    done = _run(
        [
            "xrdcp",
            "--force",
            "--nopbar",
            "--rm-bad-cksum",
            "--cksum",
            f"adler32:{adler32}",
            source,
            dest,
        ]
    )
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise CopyFailed(f"xrdcp exited with {done.returncode}: {' '.join(reason[-2:])}")
    # Ask the destination again: xrdcp's own check is what we rely on, this proves it.
    found = _xrootd_checksum(dest)
    if found != adler32:
        _xrootd_remove(dest)
        raise CopyFailed(f"adler32 at destination is {found}, expected {adler32}")


def _copy_posix(source: str, dest: str, adler32: str, size: int, root: str) -> None:
    if not os.path.isdir(root):
        # The storage element's directory is gone (taken offline): never re-create it.
        raise CopyFailed(f"destination storage {root} is not available")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    part = f"{dest}.{uuid.uuid4().hex}.part"
    try:
        shutil.copyfile(source, part)
        found_size, found = os.path.getsize(part), adler32_of_file(part)
        if (found_size, found) != (size, adler32):
            raise CopyFailed(
                f"copy has {found_size} bytes with adler32 {found}, "
                f"expected {size} bytes with {adler32}"
            )
        os.replace(part, dest)
    except OSError as err:
        raise CopyFailed(f"copy failed: {err}") from err
    finally:
        if os.path.exists(part):
            os.unlink(part)


def _local_path(url: str) -> str:
    return urlparse(url).path


def plan_copy(transfer: DirectTransfer) -> Callable[[], None]:
    """The copy of one file of ``transfer``, to run later (on any thread: it reads nothing of
    Rucio's); raise :class:`CopyFailed` with the reason when it cannot be made."""
    source = transfer.source_url(transfer.src)
    dest = transfer.dest_url
    adler32 = (transfer.rws.adler32 or "").lower().zfill(8)
    if not transfer.rws.adler32:
        raise CopyFailed("the file has no adler32 in the catalogue: it cannot be verified")
    if urlparse(dest).scheme == "file":
        root = transfer.dest_protocol().attributes["prefix"]
        src = _local_path(source) if urlparse(source).scheme == "file" else None
        if src is None:
            raise CopyFailed(f"cannot copy {source} to a directory storage element")
        size = int(transfer.rws.byte_count)
        return functools.partial(_copy_posix, src, _local_path(dest), adler32, size, root)
    src = _local_path(source) if urlparse(source).scheme == "file" else source
    return functools.partial(_copy_xrootd, src, dest, adler32)


def _run_copy(copy: Callable[[], None] | CopyFailed, where: str) -> Outcome:
    started = datetime.datetime.utcnow()
    state, reason = RequestState.DONE, None
    try:
        if isinstance(copy, CopyFailed):
            raise copy
        copy()
    except CopyFailed as err:
        state, reason = RequestState.FAILED, f"{where}: {err}"
    return Outcome(state, reason, started, datetime.datetime.utcnow())


class PlaygroundCopyTransfertool(Transfertool):
    """Copies with xrdcp or a plain file copy, verifying adler32 (the playground's FTS)."""

    external_name = "wp5-copy"
    required_rse_attrs = ()
    supported_schemes = {"root", "file"}

    _outcomes: ClassVar[dict[str, dict[str, Outcome]]] = {}
    # How many copies run at once (rucio_transfers.py --parallel-copies sets it).
    parallel_copies: ClassVar[int] = 4

    def __init__(self, external_host: str, logger: LoggerFunction = logging.log, **_: Any) -> None:
        super().__init__(external_host, logger)

    @classmethod
    def submission_builder_for_path(
        cls, transfer_path: list[DirectTransfer], logger: LoggerFunction = logging.log
    ) -> tuple[list[DirectTransfer], TransferToolBuilder]:
        """Every path can be copied by this tool."""
        return transfer_path, TransferToolBuilder(cls, external_host=HOST)

    def group_into_submit_jobs(
        self, transfer_paths: Iterable[list[DirectTransfer]]
    ) -> list[dict[str, Any]]:
        """One job for everything the submitter picked."""
        return [
            {"transfers": list(itertools.chain.from_iterable(transfer_paths)), "job_params": {}}
        ]

    def submit(
        self,
        transfers: Iterable[DirectTransfer],
        job_params: dict[str, str],
        timeout: int | None = None,
    ) -> str:
        """Copy every file now and record the outcomes under a new job id."""
        job_id = uuid.uuid4().hex
        # Rucio's objects are read here, on the daemon's thread; the copies run on the pool's.
        planned: dict[str, tuple[Callable[[], None] | CopyFailed, str]] = {}
        for transfer in transfers:
            try:
                copy: Callable[[], None] | CopyFailed = plan_copy(transfer)
            except CopyFailed as err:
                copy = err
            planned[transfer.rws.request_id] = (copy, transfer.dst.rse.name)
        with ThreadPoolExecutor(max(1, self.parallel_copies)) as pool:
            done = pool.map(lambda p: _run_copy(*p), planned.values())
            outcomes = dict(zip(planned, done, strict=True))
        for request_id, outcome in outcomes.items():
            if outcome.state == RequestState.FAILED:
                self.logger(logging.WARNING, "copy %s failed: %s", request_id, outcome.reason)
        self._outcomes[job_id] = outcomes
        return job_id

    def bulk_query(
        self, requests_by_eid: Mapping[str, Mapping[str, Any]], timeout: int | None = None
    ) -> dict[str, dict[str, TransferStatusReport]]:
        """The recorded outcome of each request (LOST when this process never copied it)."""
        return {
            job_id: {
                request_id: CopyStatusReport(
                    request_id, job_id, self._outcomes.get(job_id, {}).get(request_id)
                )
                for request_id in requests
            }
            for job_id, requests in requests_by_eid.items()
        }

    def cancel(self, transfer_ids: Sequence[str], timeout: int | None = None) -> bool:
        """Copies finish during submit: there is nothing to cancel."""
        return True

    def update_priority(self, transfer_id: str, priority: int, timeout: int | None = None) -> bool:
        """Copies finish during submit: priorities do not apply."""
        return True
