"""Rucio's raw rows as our values: type and state names, JSON-safe values, rules, replica states,
the datasets inside a container. Blocking helpers take a rucio-clients ``Client``: run them in an
executor thread."""

from __future__ import annotations

from typing import Any

from ..models import DID, FileReplicaState, ReplicaState, RuleSummary
from .rucio_connection import state_name

# list_replicas takes at most this many DIDs per call (see RECIPES.md).
REPLICA_BATCH = 1000


def did_type_name(raw: Any) -> str:
    """Rucio's DIDType (an enum or its string) as our lower-case type name."""
    return str(raw).lower().removeprefix("didtype.")


def jsonable(value: Any) -> Any:
    """``value`` itself when JSON can hold it, else its string (dates, enums)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def rule_summary(r: dict[str, Any]) -> RuleSummary:
    """One row of ``list_did_rules`` as a :class:`RuleSummary`."""
    return RuleSummary(
        id=r["id"],
        account=r.get("account", ""),
        rse_expression=r.get("rse_expression", ""),
        state=ReplicaState(state_name(r.get("state", ""))),
        copies=r.get("copies", 1),
        locks_ok=r.get("locks_ok_cnt", 0),
        locks_replicating=r.get("locks_replicating_cnt", 0),
        locks_stuck=r.get("locks_stuck_cnt", 0),
        created_at=jsonable(r.get("created_at")),
        expires_at=jsonable(r.get("expires_at")),
    )


def replica_states(
    client: Any, files: list[dict[str, Any]], rse: str | None
) -> dict[tuple[str, str], dict[str, FileReplicaState]]:
    """``{(scope, name): {rse: state}}`` for ``files``, optionally at one ``rse`` only."""
    result: dict[tuple[str, str], dict[str, FileReplicaState]] = {}
    for start in range(0, len(files), REPLICA_BATCH):
        batch = [
            {"scope": f["scope"], "name": f["name"]} for f in files[start : start + REPLICA_BATCH]
        ]
        for rep in client.list_replicas(batch, all_states=True, ignore_availability=True):
            states = {
                k: FileReplicaState(state_name(v)) for k, v in (rep.get("states") or {}).items()
            }
            if rse:
                states = {k: v for k, v in states.items() if k == rse}
            result[(rep["scope"], rep["name"])] = states
    return result


def datasets_in(client: Any, container: DID, limit: int | None = None) -> list[DID]:
    """The datasets inside a container, recursively; at most ``limit`` when given."""
    found: list[DID] = []
    todo = [container]
    while todo:
        parent = todo.pop(0)
        for child in client.list_content(parent.scope, parent.name):
            kind = did_type_name(child.get("type"))
            ref = DID(child["scope"], child["name"])
            if kind == "dataset":
                found.append(ref)
                if limit is not None and len(found) >= limit:
                    return found
            elif kind == "container":
                todo.append(ref)
    return found
