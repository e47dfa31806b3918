"""Register a catalogue-only scope through Rucio's core API, one transaction per group of datasets.

Runs inside the Rucio server virtualenv (never imports jupyter_wp5); reads $RUCIO_CONFIG (the
server's, so it writes the playground's own database). The same core calls the REST API makes
(add_replicas, add_dids, attach_dids_to_dids, set_status, add_rule), without one HTTP request,
authentication and transaction per batch: registering 100,000 files through REST spends most of
its time there. Each group of datasets is committed whole (dataset, file replicas, attachments,
closed, rule), so a dataset that exists is complete and a re-run skips it.

Usage: ``python rucio_catalogue.py WORK.json`` where WORK holds ``scope``, ``rse``, ``account``,
``datasets`` ([{"name", "files": [{"name", "bytes", "adler32"}]}]), ``container`` (a name or
null) and ``members`` (the datasets it holds), ``done`` (the dataset created last, marking a
complete registration).
"""

import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from rucio.common.exception import RucioException
from rucio.common.types import InternalAccount, InternalScope
from rucio.core import config as config_module
from rucio.core import rse as rse_module
from rucio.core.did import add_dids, attach_dids_to_dids, list_content, set_status
from rucio.core.replica import add_replicas
from rucio.core.rse import get_rse_id
from rucio.core.rule import add_rule
from rucio.core.scope import add_scope, check_scope
from rucio.db.sqla import models
from rucio.db.sqla.constants import DIDType
from rucio.db.sqla.session import DatabaseOperationType, db_session
from sqlalchemy import select

# Files per add_replicas call: SQLite's expression depth limit fails one call with 1000+.
_REPLICAS = 500
# Files per transaction: large enough to pay little per commit, small enough that an
# interrupted run loses little.
_FILES_PER_COMMIT = 10_000
# A write that meets a locked SQLite database (a REST request in flight) is replayed.
_ATTEMPTS = 20


def main() -> None:
    """Register what WORK describes; print a line per committed group."""
    with open(sys.argv[1]) as spec:
        work = json.load(spec)
    account = InternalAccount(work["account"])
    scope = InternalScope(work["scope"])
    start = time.perf_counter()
    _prepare()
    _write(lambda s: _add_scope(scope, account, s))
    if work["done"] in _names(scope, DIDType.DATASET):
        print("already registered")
        return
    rse_id = _write(lambda s: get_rse_id(rse=work["rse"], session=s))
    have = _names(scope, DIDType.DATASET)
    todo = [d for d in work["datasets"] if d["name"] not in have]
    done = 0
    # The smallest dataset alone first: its rule reads Rucio's config table on a connection of
    # Rucio's own, which on SQLite waits for a large open transaction of ours; then it is cached.
    todo.sort(key=lambda d: len(d["files"]))
    for group in [todo[:1], *_groups(todo[1:], _FILES_PER_COMMIT)] if todo else []:
        _write(lambda s, g=group: _register(g, scope, rse_id, work["rse"], account, s))
        done += len(group)
        print(f"{done}/{len(todo)} datasets, {time.perf_counter() - start:.0f} s", flush=True)
    if work["container"]:
        members = work["members"]
        _write(lambda s: _fill_container(scope, work["container"], members, account, s))
    _write(lambda s: add_dids([_did(scope, work["done"], "DATASET")], account, session=s))
    print(f"registered in {time.perf_counter() - start:.0f} s", flush=True)


def _prepare() -> None:
    """Rucio caches RSE attributes and its config table in memcached, which the playground does
    not run; without it add_rule reads two attributes from the database for every file (and
    flushes the session each time), most of a 10,000-file rule's time, and reads the config
    table on a second connection of its own. Nothing changes either while this registers, so a
    cache in this process answers as memcached would."""
    rse_module.REGION.configure("dogpile.cache.memory", replace_existing_backend=True)
    config_module.REGION.configure("dogpile.cache.memory", replace_existing_backend=True)


def _register(
    datasets: list[dict[str, Any]], scope: Any, rse_id: str, rse: str, account: Any, session: Any
) -> None:
    add_dids([_did(scope, d["name"], "DATASET") for d in datasets], account, session=session)
    # Replicas in full batches across datasets: each call costs a few queries whatever its size.
    files = [{**f, "scope": scope} for d in datasets for f in d["files"]]
    for start in range(0, len(files), _REPLICAS):
        add_replicas(rse_id, files[start : start + _REPLICAS], account, session=session)
    attachments = [
        {
            "scope": scope,
            "name": d["name"],
            "dids": [{"scope": scope, "name": f["name"]} for f in d["files"]],
        }
        for d in datasets
    ]
    attach_dids_to_dids(attachments, account, session=session)
    for dataset in datasets:
        # Closed, Rucio stores the dataset's size and length, as production data has.
        set_status(scope, dataset["name"], open=False, session=session)
    # The replicas exist, so every lock is OK at once; the rule also starts Rucio's per-dataset
    # replica summary, and keeps the reaper away.
    add_rule(
        [{"scope": scope, "name": d["name"]} for d in datasets],
        account,
        1,
        rse,
        "DATASET",
        None,
        None,
        False,
        None,
        session=session,
    )


def _fill_container(scope: Any, name: str, members: list[str], account: Any, session: Any) -> None:
    if name not in _names(scope, DIDType.CONTAINER, session):
        add_dids([_did(scope, name, "CONTAINER")], account, session=session)
    inside = {c["name"] for c in list_content(scope, name, session=session)}
    refs = [{"scope": scope, "name": n} for n in members if n not in inside]
    if refs:
        attach_dids_to_dids(
            [{"scope": scope, "name": name, "dids": refs}], account, session=session
        )


def _add_scope(scope: Any, account: Any, session: Any) -> None:
    # Checked first: a failed insert would leave the transaction unusable.
    if not check_scope(scope, session=session):
        add_scope(scope, account, session=session)


def _names(scope: Any, did_type: Any, session: Any = None) -> set[str]:
    stmt = select(models.DataIdentifier.name).where(
        models.DataIdentifier.scope == scope,
        models.DataIdentifier.did_type == did_type,
    )
    if session is not None:
        return set(session.execute(stmt).scalars())
    with db_session(DatabaseOperationType.READ) as s:
        return set(s.execute(stmt).scalars())


def _did(scope: Any, name: str, did_type: str) -> dict[str, Any]:
    return {"scope": scope, "name": name, "type": did_type, "account": None}


def _groups(datasets: list[dict[str, Any]], files: int) -> Iterator[list[dict[str, Any]]]:
    """Datasets in runs of at most ``files`` files (a larger dataset alone)."""
    run: list[dict[str, Any]] = []
    count = 0
    for dataset in datasets:
        if run and count + len(dataset["files"]) > files:
            yield run
            run, count = [], 0
        run.append(dataset)
        count += len(dataset["files"])
    if run:
        yield run


def _write(fn: Any) -> Any:
    """Run ``fn(session)`` in one transaction, replayed while SQLite reports a locked database."""
    for attempt in range(_ATTEMPTS):
        try:
            with db_session(DatabaseOperationType.WRITE) as session:
                return fn(session)
        except RucioException as err:
            if "locked" not in str(err) or attempt == _ATTEMPTS - 1:
                raise
            time.sleep(min(0.2 * 2**attempt, 5.0))
    raise AssertionError("unreachable")


if __name__ == "__main__":
    main()
