"""Download mode: a dataset's files land in scratch with the right adler32 (DownloadClient checks,
and so do we), a second request re-downloads only the file that is missing, and the request shows
in GET replicas like a rule; the list of requests outlives the Jupyter server."""

from __future__ import annotations

import asyncio
import time
import zlib
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_wp5.data.replicas import ReplicaService
from jupyter_wp5.data.request_store import RequestStore

from .contract import call

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


async def finished(jp_fetch, request_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, progress = await call(jp_fetch, "GET", f"replicas/{request_id}")
        assert status == 200, progress
        if progress["state"] != "REPLICATING" or time.monotonic() > deadline:
            return progress
        await asyncio.sleep(0.2)


async def download(jp_fetch, did: str) -> dict:
    status, made = await call(jp_fetch, "POST", "replicas", {"did": did, "mode": "download"})
    assert status == 201, made
    assert made["mode"] == "download" and made["state"] == "REPLICATING"
    return await finished(jp_fetch, made["id"])


async def test_download_verifies_checksums_and_resumes(jp_fetch, playground, scratch):
    seeded = playground.dataset(DATASET)
    done = await download(jp_fetch, DATASET)
    assert done["state"] == "OK", done["error"]
    n = len(seeded.files)
    assert (done["files_total"], done["files_ok"], done["files_stuck"]) == (n, n, 0)
    assert done["bytes_ok"] == done["bytes_total"] == seeded.bytes
    target = scratch / seeded.scope / seeded.name
    paths = sorted(Path(p) for p in done["paths"])
    assert paths == sorted(target / f.name for f in seeded.files)
    for f in seeded.files:
        assert adler32(target / f.name) == f.adler32.zfill(8)

    # The request is listed like a rule request.
    _, listed = await call(jp_fetch, "GET", "replicas")
    assert [(r["id"], r["mode"]) for r in listed["items"]] == [(done["id"], "download")]

    # Resume: remove one file; asking again fetches only that one.
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
