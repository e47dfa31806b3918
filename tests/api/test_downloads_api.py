"""Download mode: a dataset's files land in scratch with the right adler32 (DownloadClient checks,
and so do we), a second request re-downloads only the file that is missing, and the request shows
in GET replicas like a rule; the list of requests outlives the Jupyter server, and a download
whose server died in the middle of a file resumes when asked again and verifies."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_wp5.data.replicas import ReplicaService
from jupyter_wp5.data.request_store import RequestStore

from ..rucio_admin import adler32 as adler32_of
from ..rucio_admin import admin_client, discard, new_dataset
from ..storage import throttled_storage
from .contract import call, finished

pytestmark = pytest.mark.rucio

DATASET = "cms:TTTo2L2Nu_NanoAODv9"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return tmp_path / "scratch"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "requests.sqlite"


@pytest.fixture
def jp_server_config(jp_server_config: Config, scratch: Path, store_path: Path) -> Config:
    jp_server_config.DownloadManager.scratch_dir = str(scratch)
    jp_server_config.RequestStore.path = str(store_path)
    return jp_server_config


def adler32(path: Path) -> str:
    return f"{zlib.adler32(path.read_bytes()) & 0xFFFFFFFF:08x}"


async def download(jp_fetch, did: str) -> dict:
    status, made = await call(jp_fetch, "POST", "replicas", {"did": did, "mode": "download"})
    assert status == 201, made
    assert made["mode"] == "download" and made["state"] == "REPLICATING"
    return await finished(jp_fetch, made["id"])


async def test_download_verifies_checksums_and_fetches_only_missing_files(
    jp_fetch, playground, scratch, monkeypatch
):
    # The download service must not leave its rucio.cfg in the environment (kernels inherit it).
    monkeypatch.delenv("RUCIO_CONFIG", raising=False)
    seeded = playground.dataset(DATASET)
    done = await download(jp_fetch, DATASET)
    assert done["state"] == "OK", done["error"]
    n = len(seeded.files)
    assert (done["files_total"], done["files_ok"], done["files_stuck"]) == (n, n, 0)
    assert done["bytes_ok"] == done["bytes_total"] == seeded.bytes
    target = scratch / getpass.getuser() / seeded.scope / seeded.name
    paths = sorted(Path(p) for p in done["paths"])
    assert paths == sorted(target / f.name for f in seeded.files)
    for f in seeded.files:
        assert adler32(target / f.name) == f.adler32.zfill(8)
    assert "RUCIO_CONFIG" not in os.environ

    # The request is listed like a rule request.
    _, listed = await call(jp_fetch, "GET", "replicas")
    assert [(r["id"], r["mode"]) for r in listed["items"]] == [(done["id"], "download")]

    # A file gone from scratch: asking again fetches only that one.
    gone, *kept = paths
    gone.unlink()
    mtimes = {p: p.stat().st_mtime_ns for p in kept}
    again = await download(jp_fetch, DATASET)
    assert again["state"] == "OK" and again["files_ok"] == n, again
    assert adler32(gone) == next(f.adler32 for f in seeded.files if f.name == gone.name).zfill(8)
    assert {p: p.stat().st_mtime_ns for p in kept} == mtimes


async def test_requests_survive_a_server_restart(jp_fetch, playground, store_path, tmp_path):
    from jupyter_wp5.data.rucio_connection import RucioConnection
    from jupyter_wp5.models import DID, ReplicaMode, ReplicaRequest

    # A first server lifetime: the service as a server builds it, over the same store file.
    config = Config({"DownloadManager": {"scratch_dir": str(tmp_path / "first")}})
    connection = RucioConnection(rucio_config=str(playground.rucio_config))
    first = ReplicaService(connection, store=RequestStore(path=str(store_path)), config=config)
    try:
        made = await first.request(
            ReplicaRequest(DID.parse(DATASET), "", comment="before", mode=ReplicaMode.DOWNLOAD)
        )
        deadline = time.monotonic() + 60
        while (await first.get(made.id)).is_moving and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        first.close()
        connection.close()

    # The running server is the second lifetime over that file: it lists the request.
    _, listed = await call(jp_fetch, "GET", "replicas")
    (shown,) = [r for r in listed["items"] if r["id"] == made.id]
    assert (shown["mode"], shown["did"], shown["comment"], shown["state"]) == (
        "download",
        DATASET,
        "before",
        "OK",
    )
    assert len(shown["paths"]) == len(playground.dataset(DATASET).files)
    status, one = await call(jp_fetch, "GET", f"replicas/{made.id}")
    assert status == 200 and one == shown


def received(path: Path, payload: bytes) -> int:
    """How many leading bytes of ``payload`` the file at ``path`` holds (its copy tool may size
    the file before the bytes arrive)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    size = min(len(data), len(payload))
    for start in range(0, size, 65536):
        end = min(start + 65536, size)
        if data[start:end] != payload[start:end]:
            return next(i for i in range(start, end) if data[i] != payload[i])
    return size


# A first server's download service, in a process of its own that the test kills.
FIRST_SERVER = """
import asyncio, sys
from traitlets.config import Config
from jupyter_wp5.data.replicas import ReplicaService
from jupyter_wp5.data.request_store import RequestStore
from jupyter_wp5.data.rucio_connection import RucioConnection
from jupyter_wp5.models import DID, ReplicaMode, ReplicaRequest

rucio_config, store, scratch, did = sys.argv[1:]

async def main():
    service = ReplicaService(
        RucioConnection(rucio_config=rucio_config),
        store=RequestStore(path=store),
        config=Config({"DownloadManager": {"scratch_dir": scratch}}),
    )
    made = await service.request(ReplicaRequest(DID.parse(did), "", mode=ReplicaMode.DOWNLOAD))
    print(made.id, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""
# SITE-B serves at most THROUGHPUT bytes/s while the first server downloads BIG bytes from it.
BIG = 4 * 1024 * 1024
THROUGHPUT = 1_000_000


async def test_download_killed_mid_file_resumes_and_verifies(
    jp_fetch, facility, playground, scratch, store_path
):
    client = admin_client(playground)
    payloads = [os.urandom(64 * 1024), os.urandom(BIG)]
    did, (small, big), rule = new_dataset(client, playground.account, "SITE-B", payloads)
    target = scratch / getpass.getuser() / Path(*did.split(":"))
    part = target / f"{big}.part"
    first = None
    try:
        with throttled_storage(facility, "SITE-B", THROUGHPUT):
            args = [str(playground.rucio_config), str(store_path), str(scratch), did]
            first = subprocess.Popen(
                [sys.executable, "-c", FIRST_SERVER, *args],
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
                # xrdcp writes a chunk once all of it has arrived (8 MiB by default): with small
                # chunks the file grows while the bytes come.
                env={**os.environ, "XRD_CPCHUNKSIZE": "65536"},
            )
            request_id = (await asyncio.to_thread(first.stdout.readline)).strip()
            deadline = time.monotonic() + 60
            while received(part, payloads[1]) == 0:
                assert time.monotonic() < deadline, "the download of the big file never started"
                await asyncio.sleep(0.05)
            # The server dies (its copy tool with it) in the middle of the big file.
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        got = received(part, payloads[1])
        print(f"\nkilled with {got} of {BIG} bytes in {part.name}")
        assert 0 < got < BIG, "the download was not stopped in the middle"
        assert adler32(target / small) == adler32_of(payloads[0])
        assert not (target / big).exists()
        small_mtime = (target / small).stat().st_mtime_ns

        # This server finds the request interrupted, then resumes it when asked again.
        status, shown = await call(jp_fetch, "GET", f"replicas/{request_id}")
        assert status == 200 and shown["state"] == "STUCK", shown
        assert "interrupted" in shown["error"], shown
        again = await download(jp_fetch, did)
        assert (again["state"], again["files_ok"], again["files_stuck"]) == ("OK", 2, 0), again
        assert again["bytes_ok"] == sum(len(p) for p in payloads)
        assert adler32(target / big) == adler32_of(payloads[1])
        assert adler32(target / small) == adler32_of(payloads[0])
        assert (target / small).stat().st_mtime_ns == small_mtime  # verified, not fetched again
        assert sorted(p.name for p in target.iterdir()) == sorted([small, big])  # no .part left
    finally:
        if first is not None and first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        discard(client, rule)


async def test_cancelling_a_running_download_stops_it(jp_fetch, facility, playground, scratch):
    """Cancelled while a file arrives: the request is gone at once, the file being copied may
    finish, no further file is started."""
    client = admin_client(playground)
    payloads = [os.urandom(2 * 1024 * 1024) for _ in range(3)]
    did, names, rule = new_dataset(client, playground.account, "SITE-B", payloads)
    target = scratch / getpass.getuser() / Path(*did.split(":"))
    try:
        with throttled_storage(facility, "SITE-B", THROUGHPUT):
            status, made = await call(
                jp_fetch, "POST", "replicas", {"did": did, "mode": "download"}
            )
            assert status == 201, made
            deadline = time.monotonic() + 60
            while not (current := [n for n in names if (target / f"{n}.part").exists()]):
                assert time.monotonic() < deadline, "the download never started"
                await asyncio.sleep(0.05)
            status, body = await call(jp_fetch, "DELETE", f"replicas/{made['id']}")
            assert (status, body) == (204, None)
            finished = {n for n in names if (target / n).exists()}
            status, gone = await call(jp_fetch, "GET", f"replicas/{made['id']}")
            assert (status, gone["error"]) == (404, "not_found"), gone
            _, listed = await call(jp_fetch, "GET", "replicas")
            assert made["id"] not in [r["id"] for r in listed["items"]]
            # The file under way may finish (its copy tool is not interrupted) ...
            (copying,) = current
            deadline = time.monotonic() + 60
            while (target / f"{copying}.part").exists():
                assert time.monotonic() < deadline, "the current file never finished"
                await asyncio.sleep(0.1)
            # ... but no other starts: after more than a next file would need to show up.
            await asyncio.sleep(3)
        left = {p.name for p in target.iterdir()}
        assert left <= finished | {copying} and len(left) < len(names), (left, finished, copying)
    finally:
        discard(client, rule)
