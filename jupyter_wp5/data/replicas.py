"""The replica service: copies of datasets as Rucio replication rules, and their progress.

Rucio decides and books the data movement (FTS in production, the playground's daemons locally);
this service only creates, reads and deletes rules, and reports progress from the rule's locks.
"""

from __future__ import annotations

import re
from typing import Any

from traitlets.config import LoggingConfigurable

from ..models import DID, InvalidRequest, ReplicaProgress, ReplicaRequest, ReplicaUpdate
from .rucio_connection import RucioConnection

_RULE_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def _rule_id(text: str) -> str:
    if not _RULE_ID_RE.match(text):
        raise InvalidRequest(f"'{text}' is not a replication rule id (32 hex digits)")
    return text


class ReplicaService(LoggingConfigurable):
    """Request, follow and cancel copies of data at storage elements, as Rucio rules."""

    def __init__(self, connection: RucioConnection, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connection = connection

    async def request(self, req: ReplicaRequest) -> ReplicaProgress:
        """Create the rule; return only once Rucio accepted it (its refusals raise, with reason)."""

        def create(client: Any) -> ReplicaProgress:
            # Check what can be checked before anything is created.
            client.get_did(req.did.scope, req.did.name)
            _check_expression(client, req.rse_expression)
            (rule_id,) = client.add_replication_rule(
                dids=[{"scope": req.did.scope, "name": req.did.name}],
                copies=req.copies,
                rse_expression=req.rse_expression,
                lifetime=req.lifetime,
                comment=req.comment,
                account=client.account,
            )
            return _progress(client, client.get_replication_rule(rule_id))

        return await self.connection.run(create)

    async def list(self) -> list[ReplicaProgress]:
        """The user's rules, newest first."""

        def rules(client: Any) -> list[ReplicaProgress]:
            found = client.list_replication_rules({"account": client.account})
            return [_progress(client, r, with_bytes=False) for r in found]

        items = await self.connection.run(rules)
        return sorted(items, key=lambda p: p.created_at or "", reverse=True)

    async def get(self, rule_id: str) -> ReplicaProgress:
        """One rule with its per-lock progress in files and bytes."""
        rid = _rule_id(rule_id)
        return await self.connection.run(lambda c: _progress(c, c.get_replication_rule(rid)))

    async def update(self, rule_id: str, change: ReplicaUpdate) -> ReplicaProgress:
        """Extend the rule's lifetime and/or retry its STUCK copies now.

        A retry is Rucio's ``boost_rule``: the STUCK locks become due for judge-repairer at once
        instead of after Rucio's hours-long back-off.
        """
        rid = _rule_id(rule_id)
        options: dict[str, Any] = {}
        if change.lifetime is not None:
            options["lifetime"] = change.lifetime
        if change.retry:
            options["boost_rule"] = True

        def apply(client: Any) -> ReplicaProgress:
            client.update_replication_rule(rid, options)
            return _progress(client, client.get_replication_rule(rid))

        return await self.connection.run(apply)

    async def cancel(self, rule_id: str) -> None:
        """Remove the rule; Rucio's reaper deletes replicas no other rule protects."""
        rid = _rule_id(rule_id)
        await self.connection.run(lambda c: c.delete_replication_rule(rid, purge_replicas=False))


def _check_expression(client: Any, expression: str) -> None:
    if not list(client.list_rses(expression)):
        raise InvalidRequest(f"no storage element matches '{expression}'")


def _state(raw: Any) -> str:
    return str(raw).upper().rsplit(".", 1)[-1]


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
            (sizes.get((lk["scope"], lk["name"]), 0), _state(lk["state"]))
            for lk in client.list_replica_locks(rule["id"])
        ]
        bytes_total = sum(size for size, _ in locks)
        bytes_ok = sum(size for size, state in locks if state == "OK")
    return ReplicaProgress(
        id=rule["id"],
        did=str(DID(rule["scope"], rule["name"])),
        rse_expression=rule.get("rse_expression", ""),
        state=_state(rule.get("state", "")),
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


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
