"""Real transfers in the playground: a copy requested over REST arrives with its bytes (adler32
read back from the destination storage itself, which held none of them before), and a storage
outage in the middle of a copy leaves it STUCK with xrdcp's reason and no AVAILABLE replica
without bytes, then completes only once the storage is back and the owner retries.

The bytes are moved by Rucio's own judge and conveyor daemons with the playground's transfertool
(xrdcp or a plain copy, adler32-verified): the playground's stand-in for FTS.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import uproot

from tests.api.contract import call
from tests.rucio_admin import (
    adler32,
    admin_client,
    assert_absent_at,
    destinations,
    discard,
    new_dataset,
    on_storage,
    replicas_at,
)
from tests.storage import throttled_storage

pytestmark = pytest.mark.rucio

SUCCESS_DATASET = "cms:TTTo2L2Nu_NanoAODv9"


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
    # Without this, copies an earlier test left at SITE-B would satisfy the rule at once.
    await assert_absent_at(client, dataset.did, "SITE-B")
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
    await assert_absent_at(client, dataset.did, "SITE-B")


# SITE-B's XRootD server moves at most THROUGHPUT bytes/s during the outage test, so the copy of
# BIG bytes takes about BIG / THROUGHPUT seconds and the storage can stop in its middle.
BIG = 6 * 1024 * 1024
THROUGHPUT = 1_000_000
# Longer than the daemons' judge-repairer delay (15 s) plus one housekeeping round (5 s): a rule
# still STUCK after this would not have recovered without the owner's retry.
CONTROL_WAIT = 30
XRDCP_REASON = re.compile(
    r"SITE-B: xrdcp exited with \d+: .*\[(ERROR|FATAL)\] "
    r"(Socket error|Connection error|Connection refused|Operation expired|Stream error)"
)


async def test_storage_outage_mid_copy_sticks_with_xrdcp_reason_until_retried(
    jp_fetch, facility, playground
):
    """SITE-B's storage stops while a copy is writing to it: the request is STUCK with xrdcp's
    reason and no AVAILABLE replica; with the storage back it stays STUCK (control) until the
    owner retries, then the bytes arrive verified."""
    client = admin_client(playground)
    payload = os.urandom(BIG)
    did, (name,), origin_rule = new_dataset(client, playground.account, "SITE-A", [payload])
    made: dict = {}
    try:
        await assert_absent_at(client, did, "SITE-B")
        url = destinations(client, did, "SITE-B")[name]
        with throttled_storage(facility, "SITE-B", THROUGHPUT) as site_b:
            landing = site_b.data_dir / urlparse(url).path.lstrip("/")
            status, made = await call(
                jp_fetch, "POST", "replicas", {"did": did, "rse_expression": "SITE-B"}
            )
            assert status == 201, made

            # The conveyor's xrdcp has started writing at SITE-B: take the storage down now.
            deadline = time.monotonic() + 60
            while not (landing.exists() and landing.stat().st_size > 0):
                assert time.monotonic() < deadline, "the copy to SITE-B never started"
                await asyncio.sleep(0.05)
            facility.stop_storage("SITE-B")
            written = landing.stat().st_size if landing.exists() else 0
            print(f"\nSITE-B stopped with {written} of {BIG} bytes written")
            assert 0 < written < BIG, "the outage did not land in the middle of the copy"

            stuck = await wait_for(
                jp_fetch,
                made["id"],
                lambda p: p["state"] == "STUCK" and p["files_stuck"] == 1,
                timeout=90,
            )
        # (SITE-B runs again, unthrottled.)
        assert stuck["files_ok"] == 0 and stuck["bytes_ok"] == 0, stuck
        print(f"STUCK with: {stuck['error']}")
        assert stuck["error"] and XRDCP_REASON.search(stuck["error"]), stuck["error"]
        (state, _, _) = replicas_at(client, did, "SITE-B")[name]
        assert state != "AVAILABLE", state

        # Control: with the storage back and no retry, nothing moves.
        until = time.monotonic() + CONTROL_WAIT
        while time.monotonic() < until:
            status, progress = await call(jp_fetch, "GET", f"replicas/{made['id']}")
            assert (progress["state"], progress["files_ok"]) == ("STUCK", 0), progress
            await asyncio.sleep(1)

        # Rucio itself retries STUCK copies only after hours; the owner asks for a retry now
        # (Rucio's boost_rule) and judge-repairer re-queues the transfer.
        status, retried = await call(jp_fetch, "PATCH", f"replicas/{made['id']}", {"retry": True})
        assert status == 200 and retried["id"] == made["id"], retried
        done = await wait_for(jp_fetch, made["id"], lambda p: p["state"] == "OK", timeout=90)
        assert done["files_ok"] == 1 and done["files_stuck"] == 0 and done["bytes_ok"] == BIG
        (state, url, catalogue) = replicas_at(client, did, "SITE-B")[name]
        assert state == "AVAILABLE" and adler32_on_storage(url) == catalogue == adler32(payload)
    finally:
        if made:
            discard(client, made["id"])
        discard(client, origin_rule)
    # (The reaper deletes the copy from storage: asked of XRootD itself.)
    deadline = time.monotonic() + 60
    while on_storage(url):
        assert time.monotonic() < deadline, f"the copy stayed at SITE-B: {url}"
        await asyncio.sleep(0.5)


async def test_playground_copy_tool_never_makes_a_replica_of_bad_bytes(jp_fetch, playground):
    """The playground's transfertool (the stand-in for FTS) copies a source file whose bytes
    differ from its catalogued adler32 (silent corruption at the origin): every copy fails
    verification, the request is STUCK with the checksum reason and SITE-B holds neither an
    AVAILABLE replica nor the bad file where Rucio would put it."""
    client = admin_client(playground)
    payload = os.urandom(4096)
    claimed = f"{(int(adler32(payload), 16) + 1) & 0xFFFFFFFF:08x}"
    did, (name,), origin_rule = new_dataset(
        client, playground.account, "SITE-A", [payload], adler32s=[claimed]
    )
    landing = destinations(client, did, "SITE-B")[name]
    try:
        status, made = await call(
            jp_fetch, "POST", "replicas", {"did": did, "rse_expression": "SITE-B"}
        )
        assert status == 201, made
        try:
            stuck = await wait_for(
                jp_fetch, made["id"], lambda p: p["state"] == "STUCK", timeout=60
            )
            assert stuck["files_stuck"] == 1 and stuck["files_ok"] == 0
            assert "checksum" in stuck["error"].lower() or "adler32" in stuck["error"], stuck
            (state, _, _) = replicas_at(client, did, "SITE-B")[name]
            assert state != "AVAILABLE"
            assert not on_storage(landing), f"the bad copy was left at SITE-B: {landing}"
        finally:
            discard(client, made["id"])
    finally:
        discard(client, origin_rule)


async def test_playground_copy_tool_copies_a_datasets_files_side_by_side(
    jp_fetch, facility, playground
):
    """Like FTS, the playground's transfertool runs several copies at once: with SITE-B slowed
    down, two files of one dataset are seen half-written there at the same moment, and all of
    them then arrive verified."""
    client = admin_client(playground)
    payloads = [os.urandom(BIG // 2) for _ in range(3)]
    did, names, origin_rule = new_dataset(client, playground.account, "SITE-A", payloads)
    made: dict = {}
    try:
        await assert_absent_at(client, did, "SITE-B")
        urls = destinations(client, did, "SITE-B")
        with throttled_storage(facility, "SITE-B", THROUGHPUT) as site_b:
            landing = [site_b.data_dir / urlparse(urls[n]).path.lstrip("/") for n in names]
            status, made = await call(
                jp_fetch, "POST", "replicas", {"did": did, "rse_expression": "SITE-B"}
            )
            assert status == 201, made
            most_at_once, deadline = 0, time.monotonic() + 60
            while most_at_once < 2 and time.monotonic() < deadline:
                sizes = [p.stat().st_size if p.exists() else 0 for p in landing]
                most_at_once = max(most_at_once, sum(0 < s < BIG // 2 for s in sizes))
                await asyncio.sleep(0.05)
            assert most_at_once >= 2, "the files were copied one after another"
            done = await wait_for(jp_fetch, made["id"], lambda p: p["state"] == "OK", timeout=90)
        assert done["files_ok"] == 3 and done["bytes_ok"] == 3 * (BIG // 2), done
        there = replicas_at(client, did, "SITE-B")
        for name, payload in zip(names, payloads, strict=True):
            state, url, catalogue = there[name]
            assert state == "AVAILABLE" and adler32_on_storage(url) == catalogue == adler32(payload)
    finally:
        if made:
            discard(client, made["id"])
        discard(client, origin_rule)
