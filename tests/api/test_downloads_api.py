"""Download mode: a dataset's files land in scratch with the right adler32 (DownloadClient checks,
and so do we), a second request re-downloads only the file that is missing, and the request shows
in GET replicas like a rule; the list of requests outlives the Jupyter server, and a download
whose server was killed in the middle of a file resumes by itself when a server starts again over
the same files (real ``jupyter server`` processes), while one that a live server runs is left
to it."""

from __future__ import annotations

import asyncio
import getpass
import os
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_wp5.data.replicas import ReplicaService
from jupyter_wp5.data.request_store import RequestStore
from jupyter_wp5.ledger import verify

from ..jupyter_process import Server
from ..processes import descendants, still_running
from ..rucio_admin import adler32 as adler32_of
from ..rucio_admin import admin_client, discard, new_dataset, rucio_config_via
from ..storage import throttled_storage
from .contract import assert_matches_contract, call, finished

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


# SITE-B serves at most THROUGHPUT bytes/s while a server downloads BIG bytes from it.
BIG = 4 * 1024 * 1024
THROUGHPUT = 1_000_000
# xrdcp writes a chunk once all of it has arrived (8 MiB by default): with small chunks the file
# grows while the bytes come.
SMALL_CHUNKS = {"XRD_CPCHUNKSIZE": "65536"}


def server_on(
    root: Path, rucio_config: Path, scratch: Path, store_path: Path, *args: str, **env: str
) -> Server:
    """A real Jupyter server (a process of its own) on the Rucio of ``rucio_config`` that
    downloads into ``scratch`` and keeps its requests in ``store_path``: the same files for all
    of a test's servers, as for one user's successive servers. ``args``: more options."""
    return Server(
        root,
        f"--RucioConnection.rucio_config={rucio_config}",
        "--RucioConnection.timeout=20.0",
        f"--DownloadManager.scratch_dir={scratch}",
        f"--RequestStore.path={store_path}",
        *args,
        env=env,
    )


def wp5(server: Server, method: str, path: str, body: object = None) -> tuple[int, Any]:
    """``method /wp5/api/<path>`` on a real server; the answer checked against the contract."""
    status, answer = server.request(method, f"wp5/api/{path}", body)
    assert_matches_contract(method, path, status, answer)
    return status, answer


def wait_for_bytes(part: Path, payload: bytes) -> None:
    """Until the first bytes of ``payload`` have arrived in ``part``."""
    deadline = time.monotonic() + 60
    while received(part, payload) == 0:
        assert time.monotonic() < deadline, "the download of the big file never started"
        time.sleep(0.05)


def wait_for_log(server: Server, text: str) -> None:
    """Until ``server`` has logged ``text``."""
    deadline = time.monotonic() + 60
    while text not in server.log_text():
        assert time.monotonic() < deadline, f"never logged {text!r}:\n{server.log_text()}"
        time.sleep(0.1)


def readings_until_settled(server: Server, request_id: str) -> list[dict[str, Any]]:
    """``GET replicas/<id>`` on ``server`` every 0.2 s until it no longer shows REPLICATING."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while not seen or seen[-1]["state"] == "REPLICATING":
        assert time.monotonic() < deadline, seen[-1]
        status, shown = wp5(server, "GET", f"replicas/{request_id}")
        assert status == 200, shown
        seen.append(shown)
        time.sleep(0.2)
    return seen


def copy_tools(server: Server) -> list[str]:
    """The xrdcp processes ``server`` runs now."""
    return [c for c in still_running(descendants(server.proc.pid)).values() if "xrdcp" in c]


@pytest.mark.timeout(300)
def test_download_resumes_by_itself_when_a_killed_server_starts_again(
    facility, playground, scratch, store_path, tmp_path
):
    client = admin_client(playground)
    payloads = [os.urandom(64 * 1024), os.urandom(BIG)]
    did, (small, big), rule = new_dataset(client, playground.account, "SITE-B", payloads)
    target = scratch / getpass.getuser() / Path(*did.split(":"))
    part = target / f"{big}.part"
    # Both servers record each file downloaded in the playground's ledger.
    options = (
        playground.rucio_config,
        scratch,
        store_path,
        f"--AccessLedger.url={playground.ledger.url}",
        f"--AccessLedger.token_file={playground.ledger.token_file}",
    )
    servers: list[Server] = []
    try:
        with throttled_storage(facility, "SITE-B", THROUGHPUT):
            first = server_on(tmp_path / "first", *options, **SMALL_CHUNKS)
            servers.append(first)
            body = {"did": did, "mode": "download", "comment": "resume me"}
            status, made = wp5(first, "POST", "replicas", body)
            assert status == 201 and made["state"] == "REPLICATING", made
            wait_for_bytes(part, payloads[1])
            # The server dies (its copy tool with it) in the middle of the big file.
            first.kill()
            got = received(part, payloads[1])
            print(f"\nkilled with {got} of {BIG} bytes in {part.name}")
            assert 0 < got < BIG, "the download was not stopped in the middle"
            assert adler32(target / small) == adler32_of(payloads[0])
            assert not (target / big).exists()
            small_mtime = (target / small).stat().st_mtime_ns

            # The next server over the same files resumes it by itself: the test asks nothing
            # but its progress, which shows it moving, then done.
            second = server_on(tmp_path / "second", *options)
            servers.append(second)
            seen = readings_until_settled(second, made["id"])
        done = seen[-1]
        print(f"resumed: {[s['state'] for s in seen].count('REPLICATING')} readings moving")
        assert [s["state"] for s in seen[:-1]] == ["REPLICATING"] * (len(seen) - 1), seen
        assert any(s["files_ok"] == 1 and s["files_replicating"] == 1 for s in seen[:-1]), seen
        # The same request, not a new one.
        assert (done["id"], done["created_at"], done["comment"]) == (
            made["id"],
            made["created_at"],
            "resume me",
        )
        _, listed = wp5(second, "GET", "replicas")
        assert [r["id"] for r in listed["items"]] == [made["id"]]
        assert (done["state"], done["files_ok"], done["files_stuck"]) == ("OK", 2, 0), done
        assert done["bytes_ok"] == done["bytes_total"] == sum(len(p) for p in payloads)
        assert sorted(done["paths"]) == sorted(str(target / n) for n in (small, big))
        assert adler32(target / big) == adler32_of(payloads[1])
        assert adler32(target / small) == adler32_of(payloads[0])
        assert (target / small).stat().st_mtime_ns == small_mtime  # verified, not fetched again
        assert sorted(p.name for p in target.iterdir()) == sorted([small, big])  # no .part left
        assert not list((store_path.parent / "downloads").iterdir())  # nor a lock file
        # The ledger holds each file once: the small one from the first server, the big one from
        # the second, which only verified the small one.
        scope = did.split(":")[0]
        receipts = [
            wp5(second, "GET", f"access/ledger/receipts/{i}") for i in done["ledger_indexes"]
        ]
        entries = [
            verify(r, trusted_keys=playground.ledger.verifier_keys).entry for _, r in receipts
        ]
        assert [(e["event"], e["did"]) for e in entries] == [("download", did)] * 2, entries
        assert [e["files"][0]["did"] for e in entries] == [f"{scope}:{small}", f"{scope}:{big}"]
    finally:
        for server in servers:
            server.close()
        discard(client, rule)


@pytest.mark.timeout(300)
def test_a_live_servers_download_is_left_to_it(facility, playground, scratch, store_path, tmp_path):
    """A second server started over the same files while the first downloads does not take the
    download over; once the first is killed it shows the download interrupted, and a server
    started while Rucio is away leaves it interrupted too, with one warning. Asked for again, the
    interrupted request itself goes on to OK (no second request)."""
    client = admin_client(playground)
    payload = os.urandom(4 * BIG)  # 16 s at THROUGHPUT: time for a second server to start
    did, (name,), rule = new_dataset(client, playground.account, "SITE-B", [payload])
    part = scratch / getpass.getuser() / Path(*did.split(":")) / f"{name}.part"
    rucio = playground.rucio_config
    servers: list[Server] = []
    try:
        with throttled_storage(facility, "SITE-B", THROUGHPUT):
            first = server_on(tmp_path / "first", rucio, scratch, store_path, **SMALL_CHUNKS)
            servers.append(first)
            status, made = wp5(first, "POST", "replicas", {"did": did, "mode": "download"})
            assert status == 201, made
            wait_for_bytes(part, payload)

            second = server_on(tmp_path / "second", rucio, scratch, store_path)
            servers.append(second)
            wait_for_log(second, f"download {made['id']} of {did} runs in another live server")
            status, shown = wp5(second, "GET", f"replicas/{made['id']}")
            assert (status, shown["state"], shown["error"]) == (200, "REPLICATING", None), shown
            assert received(part, payload) < len(payload), "the first server finished already"
            assert copy_tools(first) and not copy_tools(second)

            first.kill()
            status, shown = wp5(second, "GET", f"replicas/{made['id']}")
            assert (status, shown["state"]) == (200, "STUCK"), shown
            assert "interrupted" in shown["error"], shown

        away = tmp_path / "away"
        away.mkdir()
        rucio_away = rucio_config_via(playground, "http://127.0.0.1:9", away)
        third = server_on(tmp_path / "third", rucio_away, scratch, store_path)
        servers.append(third)
        wait_for_log(third, f"download {made['id']} of {did} not resumed")
        status, shown = wp5(third, "GET", f"replicas/{made['id']}")
        assert (status, shown["state"]) == (200, "STUCK"), shown
        assert "request it again" in shown["error"], shown
        assert third.log_text().count("not resumed") == 1
        assert third.proc.poll() is None

        # Asked for again, it goes on as the same request rather than a second one.
        status, again = wp5(second, "POST", "replicas", {"did": did, "mode": "download"})
        assert (status, again["id"], again["state"]) == (201, made["id"], "REPLICATING"), again
        shown = readings_until_settled(second, made["id"])[-1]
        assert (shown["state"], shown["files_ok"]) == ("OK", 1), shown
        assert adler32(part.with_name(name)) == adler32_of(payload)
        _, listed = wp5(second, "GET", "replicas")
        assert [r["id"] for r in listed["items"] if r["did"] == did] == [made["id"]]
    finally:
        for server in servers:
            server.close()
        discard(client, rule)


async def test_a_stopped_services_file_under_way_lands_before_another_takes_over(
    facility, playground, store_path, tmp_path
):
    """A server that stops cleanly cancels its downloads, but the copy tool finishes the file it
    is writing: until that file has landed another service over the same store leaves the
    download alone, then takes it over and finishes it."""
    from jupyter_wp5.data.rucio_connection import RucioConnection
    from jupyter_wp5.models import DID, ReplicaMode, ReplicaRequest, ReplicaState

    client = admin_client(playground)
    payloads = [os.urandom(2 * 1024 * 1024), os.urandom(64 * 1024)]
    did, names, rule = new_dataset(client, playground.account, "SITE-B", payloads)
    target = tmp_path / "scratch" / getpass.getuser() / Path(*did.split(":"))
    config = Config({"DownloadManager": {"scratch_dir": str(tmp_path / "scratch")}})
    services: list[ReplicaService] = []

    def service() -> ReplicaService:
        connection = RucioConnection(rucio_config=str(playground.rucio_config))
        services.append(
            ReplicaService(connection, store=RequestStore(path=str(store_path)), config=config)
        )
        return services[-1]

    try:
        with throttled_storage(facility, "SITE-B", THROUGHPUT):
            first = service()
            asked = ReplicaRequest(DID.parse(did), "", mode=ReplicaMode.DOWNLOAD)
            made = await first.request(asked)
            copying = target / f"{names[0]}.part"  # the big file, whichever comes first
            deadline = time.monotonic() + 60
            while not copying.exists():
                assert time.monotonic() < deadline, "the download never started"
                await asyncio.sleep(0.05)
            first.close()

            second = service()
            assert second.resume_downloads() == []
            shown = await second.get(made.id)
            assert (shown.state, shown.error) == (ReplicaState.REPLICATING, None), shown
            deadline = time.monotonic() + 60
            while not (resumed := second.resume_downloads()):
                assert time.monotonic() < deadline, "the lock was never given up"
                await asyncio.sleep(0.1)
            landed = copying.with_suffix("")
            assert landed.exists() and not copying.exists()  # given up once the file landed
            assert [r.id for r in resumed] == [made.id]
            while (done := await second.get(made.id)).is_moving:
                assert time.monotonic() < deadline, done
                await asyncio.sleep(0.2)
        assert (done.state, done.files_ok) == (ReplicaState.OK, 2), done
        for n, p in zip(names, payloads, strict=True):
            assert adler32(target / n) == adler32_of(p)
    finally:
        for made_service in services:
            made_service.close()
            made_service.connection.close()
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
