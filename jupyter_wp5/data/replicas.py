"""The replica service: copies of datasets as Rucio replication rules or downloads to scratch,
and their progress.

Rucio decides and books the data movement (FTS in production, the playground's daemons locally);
this service only creates, reads and deletes rules, and reports progress from the rule's locks.
The user's requests are remembered in a :class:`RequestStore`, so the list survives a restart.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any, Protocol

from traitlets import Int
from traitlets.config import LoggingConfigurable

from ..models import (
    DID,
    InvalidRequest,
    LockState,
    NotFound,
    ReplicaMode,
    ReplicaProgress,
    ReplicaRequest,
    ReplicaState,
    ReplicaUpdate,
    Wp5Error,
)
from .db_retry import retry_when_locked
from .download import DownloadManager
from .request_store import RequestStore
from .rucio_connection import RucioConnection, state_name

_RULE_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def _rule_id(text: str) -> str:
    if not _RULE_ID_RE.match(text):
        raise InvalidRequest(f"'{text}' is not a replication rule id (32 hex digits)")
    return text


class CopyGuard(Protocol):
    """Who admits copies and records them (the access service, when the server has one)."""

    async def check_download(self, did: DID) -> None:
        """Refuse a download the account may not make (raises :class:`Forbidden`)."""
        ...

    async def rule_created(self, rule_id: str, did: DID, rse_expression: str) -> int | None:
        """Record a new rule; its ledger index, or None when nothing was recorded."""
        ...

    async def replica_ready(self, rule_id: str, did: DID, rse_expression: str) -> int | None:
        """Record that a rule's copies are complete; its ledger index, or None."""
        ...

    async def downloaded(self, did: DID, file: dict[str, Any]) -> int | None:
        """Record one downloaded file (``scope``, ``name``, ``adler32``, ``bytes``) of ``did``;
        its ledger index, or None."""
        ...


class ReplicaService(LoggingConfigurable):
    """Request, follow and cancel copies of data: Rucio rules at storage elements, or downloads.

    Parameters
    ----------
    connection
        The Rucio connection (shared with the catalogue).
    store
        Where the user's requests are remembered; by default the configured :class:`RequestStore`.
    """

    max_lifetime = Int(
        365 * 86400,
        config=True,
        help="The longest lifetime, in seconds, a copy request may ask for or be extended to.",
    )

    def __init__(
        self, connection: RucioConnection, store: RequestStore | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.connection = connection
        self.store = store or RequestStore(parent=self, log=self.log)
        self.downloads = DownloadManager(connection, self.store, parent=self, log=self.log)
        self.downloads.file_done = self._downloaded
        # Told of every new request (the events hub starts polling on it).
        self.listeners: list[Callable[[ReplicaProgress], None]] = []
        # Admits downloads and records copies, in process as behind the REST API alike.
        self.guard: CopyGuard | None = None
        self._ready: set[str] = set()  # rules whose replica_ready is recorded (or on its way)

    async def request(self, req: ReplicaRequest) -> ReplicaProgress:
        """Create the rule (or start the download); return only once Rucio accepted it (its
        refusals raise, with reason)."""
        self._check_lifetime(req.lifetime)
        self.store.check_writable()
        if req.mode is ReplicaMode.DOWNLOAD:
            if self.guard is not None:
                # Rucio cannot see reads from storage: the grant check for downloads is ours.
                await self.guard.check_download(req.did)
            progress = await self.downloads.start(req)
        else:
            progress = await self._create_rule(req)
            if self.guard is not None:
                index = await self.guard.rule_created(progress.id, req.did, req.rse_expression)
                self._note_entry(progress, index)
                # A copy to where the data is already is complete from the start.
                await self._record_ready(progress)
        self._tell(progress)
        return progress

    def resume_downloads(self) -> list[ReplicaProgress]:
        """Resume in the background the downloads a stopped server left unfinished, admitted as
        a new download is (:meth:`DownloadManager.resume`); return them, now moving.

        Called as the server starts (it needs the running event loop); it never waits on Rucio.
        """
        admit = self.guard.check_download if self.guard is not None else None
        try:
            resumed = self.downloads.resume(admit)
        except Wp5Error as err:  # the store is locked by another process
            self.log.warning("wp5: interrupted downloads not resumed: %s", err.message)
            return []
        for progress in resumed:
            self._tell(progress)
        return resumed

    def _tell(self, progress: ReplicaProgress) -> None:
        for listener in self.listeners:
            listener(progress)

    async def _create_rule(self, req: ReplicaRequest) -> ReplicaProgress:
        def create(client: Any) -> ReplicaProgress:
            # Check what can be checked before anything is created.
            client.get_did(req.did.scope, req.did.name)
            _check_expression(client, req.rse_expression, req.copies)
            (rule_id,) = retry_when_locked(
                lambda: client.add_replication_rule(
                    dids=[{"scope": req.did.scope, "name": req.did.name}],
                    copies=req.copies,
                    rse_expression=req.rse_expression,
                    lifetime=req.lifetime,
                    comment=req.comment,
                    account=client.account,
                )
            )
            return _progress(client, client.get_replication_rule(rule_id))

        progress = await self.connection.run(create)
        self.store.save(progress)
        return progress

    def _check_lifetime(self, lifetime: int | None) -> None:
        if lifetime is not None and lifetime > self.max_lifetime:
            raise InvalidRequest(
                f"lifetime {lifetime} s is longer than this server allows ({self.max_lifetime} s)"
            )

    async def list(self) -> list[ReplicaProgress]:
        """The user's requests, newest first, rules with fresh progress from Rucio."""
        stored = self.store.all()
        return list(await asyncio.gather(*(self._fresh(s, with_bytes=False) for s in stored)))

    def _own(self, request_id: str) -> str:
        """The id of one of this user's requests; :class:`NotFound` before any Rucio call when
        the store does not hold it (another user's rule, or no rule at all)."""
        rid = _rule_id(request_id)
        if self.store.get(rid) is None:
            raise NotFound(f"you have no copy request {rid}")
        return rid

    async def get(self, request_id: str) -> ReplicaProgress:
        """One of the user's requests with its progress in files and bytes."""
        rid = self._own(request_id)
        download = self.downloads.get(rid)
        if download is not None:
            return download
        progress = await self.connection.run(lambda c: _progress(c, c.get_replication_rule(rid)))
        return await self._settle(progress)

    async def poll(self, request_id: str) -> ReplicaProgress:
        """One of the user's requests with its progress from the rule's own lock counters: one
        Rucio call, what the events poller reads every few seconds.

        Files are exact. Bytes: the total is the dataset's size times the copies (kept from the
        last reading, else asked of Rucio once); the bytes done are that total in proportion to
        the files done, so exact when none or all are done. :meth:`get` counts them exactly.
        """
        rid = self._own(request_id)
        download = self.downloads.get(rid)
        if download is not None:
            return download

        def read(client: Any) -> ReplicaProgress:
            # The store's reads and writes too run here, off the event loop: the poller comes
            # back every few seconds, and a busy disk may hold a write.
            known = self.store.get(rid)
            rule = client.get_replication_rule(rid)
            progress = _progress(client, rule, with_bytes=False)
            size = known.bytes_total if known is not None else None
            _estimate_bytes(progress, size if size is not None else _dataset_bytes(client, rule))
            self.store.save(progress)
            return progress

        return await self.connection.run(read)

    async def update(self, request_id: str, change: ReplicaUpdate) -> ReplicaProgress:
        """Extend a rule's lifetime and/or retry its STUCK copies now.

        A retry is Rucio's ``boost_rule``: the STUCK locks become due for judge-repairer at once
        instead of after Rucio's hours-long back-off.
        """
        self._check_lifetime(change.lifetime)
        rid = self._own(request_id)
        if self.downloads.get(rid) is not None:
            raise InvalidRequest("a download has no lifetime or retry; request it again to resume")
        options: dict[str, Any] = {}
        if change.lifetime is not None:
            options["lifetime"] = change.lifetime
        if change.retry:
            options["boost_rule"] = True

        def apply(client: Any) -> ReplicaProgress:
            _on_own_rule(
                client,
                rid,
                lambda: retry_when_locked(lambda: client.update_replication_rule(rid, options)),
            )
            return _progress(client, client.get_replication_rule(rid))

        return await self._settle(await self.connection.run(apply))

    async def cancel(self, request_id: str) -> None:
        """Stop a download, or remove the rule (Rucio's reaper deletes replicas no other rule
        protects)."""
        rid = self._own(request_id)
        if self.downloads.get(rid) is not None:
            await self.downloads.cancel(rid)
            return
        try:
            await self.connection.run(
                lambda c: _on_own_rule(
                    c,
                    rid,
                    lambda: retry_when_locked(
                        lambda: c.delete_replication_rule(rid, purge_replicas=False)
                    ),
                )
            )
        except NotFound:
            # Gone from Rucio already (expired, or removed by an admin): nothing left to keep.
            self.store.remove(rid)
            raise
        self.store.remove(rid)

    async def _fresh(self, stored: ReplicaProgress, with_bytes: bool) -> ReplicaProgress:
        if stored.mode == ReplicaMode.DOWNLOAD.value:
            return self.downloads.get(stored.id) or stored
        try:
            progress = await self.connection.run(
                lambda c: _progress(c, c.get_replication_rule(stored.id), with_bytes)
            )
        except NotFound:
            stored.error = "the rule no longer exists in Rucio (removed or expired)"
            return stored
        except Wp5Error as err:
            # Rucio is away: show what we last knew, and say so.
            stored.error = f"last known progress; Rucio did not answer: {err.message}"
            return stored
        return await self._settle(progress)

    async def _settle(self, progress: ReplicaProgress) -> ReplicaProgress:
        """Save a rule's fresh progress, keeping its ledger entries; record ``replica_ready``
        the first time it is seen complete."""
        before = self.store.get(progress.id)
        if before is not None:
            progress.ledger_indexes = list(before.ledger_indexes)
            if before.state is ReplicaState.OK:
                self._ready.add(progress.id)
        self.store.save(progress)
        await self._record_ready(progress)
        return progress

    async def _record_ready(self, progress: ReplicaProgress) -> None:
        if progress.state is not ReplicaState.OK or self.guard is None:
            return
        if progress.id in self._ready:
            return
        # Marked before the await, so that a poll running meanwhile does not record it twice.
        self._ready.add(progress.id)
        did = DID.parse(progress.did)
        index = await self.guard.replica_ready(progress.id, did, progress.rse_expression)
        self._note_entry(progress, index)

    def _note_entry(self, progress: ReplicaProgress, index: int | None) -> None:
        if index is not None:
            progress.ledger_indexes.append(index)
            self.store.save(progress)

    async def _downloaded(self, progress: ReplicaProgress, file: dict[str, Any]) -> None:
        if self.guard is not None:
            self._note_entry(progress, await self.guard.downloaded(DID.parse(progress.did), file))

    def close(self) -> None:
        """Stop running downloads and close the store."""
        self.downloads.close()
        self.store.close()


def _on_own_rule(client: Any, rule_id: str, change: Callable[[], object]) -> None:
    """Run ``change`` (an update or delete of the rule); a rule that is gone or not the account's
    is :class:`NotFound`.

    Rucio answers 401, not 404, to PUT and DELETE of a rule it cannot find or that the account
    may not touch, and rucio-clients reports that as a failed login.
    """
    from rucio.common.exception import AccessDenied, CannotAuthenticate, RuleNotFound

    try:
        change()
    except (CannotAuthenticate, AccessDenied):
        try:
            owner = client.get_replication_rule(rule_id).get("account")
        except RuleNotFound:
            raise NotFound(f"no replication rule {rule_id} in Rucio (removed or expired)") from None
        if owner != client.account:
            raise NotFound(f"replication rule {rule_id} is not one of your account's") from None
        raise


def _check_expression(client: Any, expression: str, copies: int) -> None:
    matched = len(list(client.list_rses(expression)))
    if not matched:
        raise InvalidRequest(f"no storage element matches '{expression}'")
    if copies > matched:
        raise InvalidRequest(
            f"{copies} copies asked but '{expression}' selects {matched} storage element(s)"
        )


def _progress(client: Any, rule: dict[str, Any], with_bytes: bool = True) -> ReplicaProgress:
    copies = int(rule.get("copies") or 1)
    ok = int(rule.get("locks_ok_cnt") or 0)
    replicating = int(rule.get("locks_replicating_cnt") or 0)
    stuck = int(rule.get("locks_stuck_cnt") or 0)
    bytes_total = bytes_ok = None
    if with_bytes:
        # Locks carry no reliable size before the transfer: take sizes from the file list.
        sizes = {
            (f["scope"], f["name"]): int(f.get("bytes") or 0)
            for f in client.list_files(rule["scope"], rule["name"])
        }
        locks = [
            (sizes.get((lk["scope"], lk["name"]), 0), LockState(state_name(lk["state"])))
            for lk in client.list_replica_locks(rule["id"])
        ]
        bytes_total = sum(size for size, _ in locks)
        bytes_ok = sum(size for size, state in locks if state is LockState.OK)
    return ReplicaProgress(
        id=rule["id"],
        did=str(DID(rule["scope"], rule["name"])),
        rse_expression=rule.get("rse_expression", ""),
        state=ReplicaState(state_name(rule.get("state", ""))),
        copies=copies,
        files_total=ok + replicating + stuck,
        files_ok=ok,
        files_replicating=replicating,
        files_stuck=stuck,
        bytes_total=bytes_total,
        bytes_ok=bytes_ok,
        error=rule.get("error"),
        comment=rule.get("comments"),
        created_at=_text(rule.get("created_at")),
        expires_at=_text(rule.get("expires_at")),
    )


def _dataset_bytes(client: Any, rule: dict[str, Any]) -> int | None:
    """The bytes a rule books: its DID's stored size (Rucio's summary, no file listing) times the
    copies; None when Rucio keeps no size for it (a container)."""
    size = client.get_did(rule["scope"], rule["name"]).get("bytes")
    return None if size is None else int(size) * int(rule.get("copies") or 1)


def _estimate_bytes(progress: ReplicaProgress, total: int | None) -> None:
    progress.bytes_total = total
    if total is None:
        progress.bytes_ok = None
    elif progress.files_total:
        progress.bytes_ok = total * progress.files_ok // progress.files_total
    else:
        progress.bytes_ok = total if progress.state is ReplicaState.OK else 0


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
