"""Real transfers in the playground: a copy requested over REST arrives with its bytes (adler32
read back from the destination storage itself), and a storage outage leaves the copy STUCK with a
reason and no AVAILABLE replica without bytes, then completes when the storage is back and the
owner retries.

The bytes are moved by Rucio's own judge and conveyor daemons with the playground's transfertool
(xrdcp or a plain copy, adler32-verified): the playground's stand-in for FTS.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import uproot

from jupyter_wp5.data.db_retry import retry_when_locked
from tests.api.contract import call
from tests.rucio_admin import admin_client, discard

SUCCESS_DATASET = "cms:TTTo2L2Nu_NanoAODv9"
OUTAGE_DATASET = "space:debris_catalogue_2026"


async def wait_for(
    jp_fetch: Any, rule_id: str, done: Callable[[dict], bool], timeout: float
) -> dict:
    """Poll GET replicas/{id} until ``done(progress)``; fail with the last one after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        status, progress = await call(jp_fetch, "GET", f"replicas/{rule_id}")
        assert status == 200, progress
        if done(progress):
            return progress
        assert time.monotonic() < deadline, f"not done after {timeout} s: {progress}"
        await asyncio.sleep(0.25)


def replicas_at(client: Any, did: str, rse: str) -> dict[str, tuple[str, str | None, str]]:
    """name -> (state at ``rse``, its URL there, catalogue adler32), for every file of ``did``."""
    scope, name = did.split(":")
    found = {}
    for rep in client.list_replicas([{"scope": scope, "name": name}], all_states=True):
        state = str(rep["states"].get(rse, "NONE")).rsplit(".", 1)[-1]
        urls = rep["rses"].get(rse) or [None]
        found[rep["name"]] = (state, urls[0], rep["adler32"])
    return found


def adler32_on_storage(url: str) -> str:
    """adler32 as the storage itself computes it (XRootD server) or of the file on disk."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        value = zlib.adler32(Path(parsed.path).read_bytes())
        return f"{value & 0xFFFFFFFF:08x}"
    done = subprocess.run(
        ["xrdfs", parsed.netloc, "query", "checksum", parsed.path],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.split()[-1].zfill(8)


async def wait_gone(client: Any, dataset: Any, rse: str, urls: dict[str, str]) -> None:
    """Wait until ``rse`` has no replica of ``dataset`` left, in the catalogue and on storage."""
    deadline = time.monotonic() + 60
    while any(state != "NONE" for state, _, _ in replicas_at(client, dataset.did, rse).values()):
        assert time.monotonic() < deadline, replicas_at(client, dataset.did, rse)
        await asyncio.sleep(0.5)
    for url in urls.values():
        parsed = urlparse(url)
        if parsed.scheme == "file":
            assert not Path(parsed.path).exists()
        else:
            gone = subprocess.run(
                ["xrdfs", parsed.netloc, "stat", parsed.path], capture_output=True, check=False
            )
            assert gone.returncode != 0, url


def assert_same_bytes_at(client: Any, dataset: Any, rse: str) -> dict[str, str]:
    """Every file of ``dataset`` is AVAILABLE at ``rse`` with the origin's and catalogue's adler32;
    returns name -> URL at ``rse``."""
    there = replicas_at(client, dataset.did, rse)
    origin = replicas_at(client, dataset.did, dataset.rses[0])
    urls = {}
    for f in dataset.files:
        state, url, catalogue = there[f.name]
        assert state == "AVAILABLE" and url, (f.name, there[f.name])
        assert adler32_on_storage(url) == f.adler32 == catalogue
        assert adler32_on_storage(origin[f.name][1]) == f.adler32
        urls[f.name] = url
    return urls


async def test_copy_arrives_with_verified_bytes(jp_fetch, playground):
    dataset = playground.dataset(SUCCESS_DATASET)
    assert "SITE-B" not in dataset.rses
    client = admin_client(playground)
    started = time.monotonic()
    status, made = await call(
        jp_fetch, "POST", "replicas", {"did": dataset.did, "rse_expression": "SITE-B"}
    )
    assert status == 201, made
    try:
        done = await wait_for(jp_fetch, made["id"], lambda p: p["state"] == "OK", timeout=60)
        print(f"\nrule {made['id']} created -> OK in {time.monotonic() - started:.2f} s")
        assert done["files_ok"] == len(dataset.files) and done["files_stuck"] == 0
        assert done["bytes_ok"] == done["bytes_total"] == dataset.bytes

        urls = assert_same_bytes_at(client, dataset, "SITE-B")
        for f in dataset.files:
            url = urlparse(urls[f.name])
            source = url.path if url.scheme == "file" else urls[f.name]
            with uproot.open(source) as root_file:
                events = root_file["Events"]
                assert events.num_entries == f.events
                assert len(events["Muon_pt"].array()) == f.events
    finally:
        discard(client, made["id"])
    await wait_gone(client, dataset, "SITE-B", urls)


async def test_storage_outage_sticks_with_reason_then_recovers(jp_fetch, facility, playground):
    dataset = playground.dataset(OUTAGE_DATASET)
    assert "SITE-B" not in dataset.rses
    client = admin_client(playground)
    # The outage starts before the copies are attempted: the playground's files are copied in
    # milliseconds, so stopping the storage "during" a copy could not be timed reliably.
    facility.stop_storage("SITE-B")
    try:
        status, made = await call(
            jp_fetch, "POST", "replicas", {"did": dataset.did, "rse_expression": "SITE-B"}
        )
        assert status == 201, made
        stuck = await wait_for(
            jp_fetch,
            made["id"],
            lambda p: p["state"] == "STUCK" and p["files_stuck"] == len(dataset.files),
            timeout=60,
        )
        assert stuck["files_ok"] == 0 and stuck["bytes_ok"] == 0
        assert stuck["error"] and "SITE-B" in stuck["error"], stuck
        states = {state for state, _, _ in replicas_at(client, dataset.did, "SITE-B").values()}
        assert "AVAILABLE" not in states, states
    finally:
        facility.start_storage("SITE-B")
    try:
        # Rucio itself retries STUCK copies only after hours; the owner asks for a retry now
        # (Rucio's boost_rule) and judge-repairer re-queues the transfers.
        status, retried = await call(jp_fetch, "PATCH", f"replicas/{made['id']}", {"retry": True})
        assert status == 200 and retried["id"] == made["id"], retried
        done = await wait_for(jp_fetch, made["id"], lambda p: p["state"] == "OK", timeout=90)
        assert done["files_ok"] == len(dataset.files) and done["files_stuck"] == 0
        urls = assert_same_bytes_at(client, dataset, "SITE-B")
    finally:
        discard(client, made["id"])
    await wait_gone(client, dataset, "SITE-B", urls)


async def test_bytes_that_do_not_match_the_catalogue_never_become_a_replica(jp_fetch, playground):
    """A source file whose bytes differ from its catalogued adler32 (silent corruption at the
    origin): every copy fails verification, the request is STUCK with the checksum reason and the
    destination holds neither an AVAILABLE replica nor the bad file."""
    client = admin_client(playground)
    scope, tag = f"user.{playground.account}", uuid.uuid4().hex[:8]
    dataset, name = f"corrupt_{tag}", f"corrupt_{tag}.bin"
    payload = os.urandom(4096)
    actual = f"{zlib.adler32(payload) & 0xFFFFFFFF:08x}"
    claimed = f"{(int(actual, 16) + 1) & 0xFFFFFFFF:08x}"
    # Put the bytes where SITE-A's protocol says the file lives, then catalogue a wrong checksum.
    source = next(iter(client.lfns2pfns("SITE-A", [f"{scope}:{name}"], operation="write").values()))
    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(payload)
        tmp.flush()
        if urlparse(source).scheme == "file":
            Path(urlparse(source).path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp.name, urlparse(source).path)
        else:
            subprocess.run(["xrdcp", "--silent", tmp.name, source], check=True, timeout=30)
    file = {"scope": scope, "name": name, "bytes": 4096, "adler32": claimed}
    retry_when_locked(lambda: client.add_replicas("SITE-A", [file]))
    retry_when_locked(lambda: client.add_dataset(scope, dataset))
    retry_when_locked(lambda: client.attach_dids(scope, dataset, [{"scope": scope, "name": name}]))
    dids = [{"scope": scope, "name": dataset}]
    (origin_rule,) = retry_when_locked(lambda: client.add_replication_rule(dids, 1, "SITE-A"))
    try:
        status, made = await call(
            jp_fetch, "POST", "replicas", {"did": f"{scope}:{dataset}", "rse_expression": "SITE-B"}
        )
        assert status == 201, made
        try:
            stuck = await wait_for(
                jp_fetch, made["id"], lambda p: p["state"] == "STUCK", timeout=60
            )
            assert stuck["files_stuck"] == 1 and stuck["files_ok"] == 0
            assert "checksum" in stuck["error"].lower() or "adler32" in stuck["error"], stuck
            (state, url, _) = replicas_at(client, f"{scope}:{dataset}", "SITE-B")[name]
            assert state != "AVAILABLE"
            if url:
                parsed = urlparse(url)
                if parsed.scheme == "file":
                    assert not Path(parsed.path).exists()
                else:
                    found = subprocess.run(
                        ["xrdfs", parsed.netloc, "stat", parsed.path],
                        capture_output=True,
                        check=False,
                    )
                    assert found.returncode != 0, "the bad copy was left at SITE-B"
        finally:
            discard(client, made["id"])
    finally:
        discard(client, origin_rule)
