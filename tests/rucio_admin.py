"""Admin-side Rucio helpers for tests: a root client, datasets made for one test, what a storage
element holds, and removing a test's rule for good."""

from __future__ import annotations

import asyncio
import configparser
import shutil
import subprocess
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from jupyter_wp5.data.db_retry import retry_when_locked

T = TypeVar("T")


def rucio_config_via(playground: Any, url: str, directory: Path) -> Path:
    """A copy of the playground user's rucio.cfg whose server (and auth server) is ``url``, with
    a token file of its own under ``directory``."""
    cfg = configparser.ConfigParser()
    cfg.read(playground.rucio_config)
    cfg["client"].update(rucio_host=url, auth_host=url)
    cfg["client"]["auth_token_file_path"] = str(directory / "token")
    path = directory / "rucio.cfg"
    with path.open("w") as fh:
        cfg.write(fh)
    return path


def admin_client(playground: Any) -> Any:
    """A rucio-clients ``Client`` as the playground's admin account ``root``."""
    from jupyter_wp5.data.rucio_connection import RucioConnection

    return RucioConnection(rucio_config=str(playground.root_rucio_config)).new_client()


def discard(client: Any, rule_id: str) -> None:
    """Remove a test's rule for good: expire it now with its replicas purged.

    A delete is soft (the rule protects its replicas for another hour, and a second request for
    the same copy is a duplicate until then); judge-cleaner removes the expired rule at once and
    the reaper deletes replicas no rule protects from storage.
    """
    replayed(client.update_replication_rule, rule_id, {"lifetime": 1, "purge_replicas": True})


def rule_ids(client: Any, account: str) -> set[str]:
    """The ids of the rules ``account`` owns now."""
    return {r["id"] for r in client.list_replication_rules({"account": account})}


def discard_new_rules(client: Any, account: str, before: set[str], timeout: float = 60) -> None:
    """Discard the rules ``account`` made since ``before`` and wait until Rucio has removed them,
    so that a later test may ask for the same copy again."""
    new = rule_ids(client, account) - before
    for rule_id in new:
        discard(client, rule_id)
    deadline = time.monotonic() + timeout
    while new & rule_ids(client, account):
        assert time.monotonic() < deadline, "judge-cleaner did not remove the discarded rules"
        time.sleep(0.5)


def replayed(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)``, replayed while the playground's SQLite Rucio is busy writing
    (the extension's own :func:`~jupyter_wp5.data.db_retry.retry_when_locked`)."""
    return retry_when_locked(lambda: call(*args, **kwargs))


def adler32(payload: bytes) -> str:
    """adler32 as Rucio writes it (8 lower-case hex digits)."""
    return f"{zlib.adler32(payload) & 0xFFFFFFFF:08x}"


def new_dataset(
    client: Any,
    account: str,
    rse: str,
    payloads: list[bytes],
    adler32s: list[str] | None = None,
) -> tuple[str, list[str], str]:
    """A new dataset in the account's scope whose files hold ``payloads``, stored at ``rse`` where
    its protocol says and catalogued with ``adler32s`` (default: the true ones).

    Returns (DID, file names, the id of the rule that keeps the dataset at ``rse``).
    """
    scope, tag = f"user.{account}", uuid.uuid4().hex[:8]
    dataset = f"test_{tag}"
    names = [f"test_{tag}_{i}.bin" for i in range(len(payloads))]
    claimed = adler32s or [adler32(p) for p in payloads]
    pfns = client.lfns2pfns(rse, [f"{scope}:{n}" for n in names], operation="write")
    for name, payload in zip(names, payloads, strict=True):
        url = pfns[f"{scope}:{name}"]
        with tempfile.NamedTemporaryFile() as tmp:
            tmp.write(payload)
            tmp.flush()
            if urlparse(url).scheme == "file":
                Path(urlparse(url).path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(tmp.name, urlparse(url).path)
            else:
                subprocess.run(["xrdcp", "--silent", tmp.name, url], check=True, timeout=120)
    replayed(
        client.add_replicas,
        rse,
        [
            {"scope": scope, "name": n, "bytes": len(p), "adler32": a}
            for n, p, a in zip(names, payloads, claimed, strict=True)
        ],
    )
    replayed(client.add_dataset, scope, dataset)
    replayed(client.attach_dids, scope, dataset, [{"scope": scope, "name": n} for n in names])
    (rule,) = replayed(client.add_replication_rule, [{"scope": scope, "name": dataset}], 1, rse)
    return f"{scope}:{dataset}", names, rule


def replicas_at(client: Any, did: str, rse: str) -> dict[str, tuple[str, str | None, str]]:
    """name -> (state at ``rse``, its URL there, catalogue adler32), for every file of ``did``."""
    scope, name = did.split(":")
    found = {}
    for rep in client.list_replicas([{"scope": scope, "name": name}], all_states=True):
        state = str(rep["states"].get(rse, "NONE")).rsplit(".", 1)[-1]
        urls = rep["rses"].get(rse) or [None]
        found[rep["name"]] = (state, urls[0], rep["adler32"])
    return found


def destinations(client: Any, did: str, rse: str) -> dict[str, str]:
    """name -> URL where ``rse``'s protocol puts each file of ``did`` (Rucio's ``lfns2pfns``):
    where a copy would land, whether or not the catalogue knows a replica there."""
    scope, name = did.split(":")
    lfns = [f"{f['scope']}:{f['name']}" for f in client.list_files(scope, name)]
    pfns = client.lfns2pfns(rse, lfns, operation="write")
    return {lfn.split(":", 1)[1]: pfn for lfn, pfn in pfns.items()}


def on_storage(url: str) -> bool:
    """Whether the storage holds a file at ``url`` (asked of the XRootD server itself)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(parsed.path).exists()
    found = subprocess.run(
        ["xrdfs", parsed.netloc, "stat", parsed.path], capture_output=True, timeout=30, check=False
    )
    return found.returncode == 0


async def assert_absent_at(client: Any, did: str, rse: str, timeout: float = 60) -> None:
    """``rse`` holds no replica of ``did``: none in the catalogue (in any state) and no file where
    a copy would land. Waits up to ``timeout`` for an earlier test's discarded copies to go."""
    deadline = time.monotonic() + timeout
    urls = destinations(client, did, rse)
    while True:
        states = {n: s for n, (s, _, _) in replicas_at(client, did, rse).items() if s != "NONE"}
        left = states or [u for u in urls.values() if on_storage(u)]
        if not left:
            return
        assert time.monotonic() < deadline, f"{rse} still holds {did}: {left}"
        await asyncio.sleep(0.5)
