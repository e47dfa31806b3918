"""B8 load: a Jupyter server with jupyter-wp5, run in this process, answers 200 searches at
concurrency 20 while 5 copies move and a panel listens on the events websocket.

Measured: the server's event-loop lag (a ticker task on the server's own loop) and ``GET
/wp5/api/health`` as a client sees it, each at p95, under that load against the same server idle.
The clients (searches, health, the websocket, the copy requests) run in a child process
(``python -m bench.load --drive``), so that their own work does not count as the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .common import Result, not_run

TICK = 0.01  # the loop-lag ticker's period
# Patterns a user types: some match many datasets, some few, some none.
PATTERNS = ["cms:*", "cms:*NanoAOD*", "cms:T*", "cms:*Jets*", "cms:DY*", "cms:*v9", "cms:*nothing*"]


@dataclass(frozen=True)
class Load:
    searches: int = 200
    concurrency: int = 20
    copies: int = 5
    files_per_copy: int = 4
    file_size: int = 16 * 1024 * 1024
    idle_health: int = 100  # health calls measured before the load
    # The wave of searches is repeated until health was sampled this often under load (a fast
    # machine answers 200 searches in under a second: a p95 of three samples says nothing).
    loaded_health: int = 100


FULL = Load()
SMOKE = Load(
    searches=40,
    concurrency=10,
    files_per_copy=1,
    file_size=1024 * 1024,
    idle_health=10,
    loaded_health=10,
)


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


class LoopLag:
    """How late the loop wakes a task that sleeps ``TICK`` seconds: what every request waits on
    top of its own work. Also notes each garbage collection (a full one stops the loop)."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (monotonic time, lag in seconds)
        self.collections: list[tuple[float, float, int]] = []  # (start, seconds, generation)
        self._task: asyncio.Task[None] | None = None
        self._collecting = 0.0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        gc.callbacks.append(self._collected)

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = time.monotonic()
        else:
            took = time.monotonic() - self._collecting
            self.collections.append((self._collecting, took, info["generation"]))

    def collections_between(self, start: float, end: float) -> tuple[int, float]:
        """Full collections in the window, and the longest collection of any generation."""
        inside = [(took, gen) for at, took, gen in self.collections if start <= at <= end]
        return sum(1 for _, gen in inside if gen == 2), max((t for t, _ in inside), default=0.0)

    async def _tick(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK)
            now = time.monotonic()
            self.samples.append((now, now - before - TICK))

    def between(self, start: float, end: float) -> list[float]:
        return [lag for at, lag in self.samples if start <= at <= end]

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)


def b8(info: Any, smoke: bool) -> list[Result]:
    """Run the load against a server started here, twice: with the server on a CPU of its own
    (the goal rows, B8a and B8b) and sharing every CPU with the load (B8c and B8d)."""
    what_loop = "load: event-loop lag p95, searches + copies + a listener"
    what_health = "load: GET health p95 under that load"
    if not info.uses_xrootd:
        return [not_run("B8", what_loop, "the same server idle", "needs XRootD storage for copies")]
    load = SMOKE if smoke else FULL
    results = []
    for (loop_id, health_id), separate in ((("B8a", "B8b"), True), (("B8c", "B8d"), False)):
        lag, health, drive = _run_once(info, load, separate)
        where = (
            f"server on CPU {drive['server_cpus']}, load on {drive['load_cpus']}"
            if separate
            else "server and load sharing every CPU"
        )
        notes = (
            f"{where}; {drive['searches_ok']}/{drive['searches']} searches answered 200 at "
            f"concurrency {load.concurrency} in {drive['load_s']:.1f} s; "
            f"{drive['copies_ok']}/{load.copies} copies OK by the end; Rucio's own /ping p95 "
            f"{drive['rucio_ping_idle_p95'] * 1000:.0f} ms idle, "
            f"{drive['rucio_ping_load_p95'] * 1000:.0f} ms loaded; the driver's own loop lag "
            f"p95 {drive['driver_lag_load_p95'] * 1000:.0f} ms loaded; {lag['gc_full']} full "
            f"garbage collections under load (longest {lag['gc_longest'] * 1000:.0f} ms)"
        )
        print(
            f"{loop_id}/{health_id}: loop lag p95 {lag['load_p95'] * 1000:.0f} ms loaded "
            f"({lag['idle_p95'] * 1000:.0f} ms idle); health p95 {health['ratio']:.1f}x idle; "
            f"{notes}"
        )
        results += [
            Result(
                loop_id,
                what_loop + ("" if separate else " (shared CPUs)"),
                "the same server idle",
                lag["load_p95"],
                lag["idle_p95"],
                goal="< 50 ms (absolute)" if separate else "",
                notes=notes,
                extra=lag,
            ),
            Result(
                health_id,
                what_health + ("" if separate else " (shared CPUs)"),
                "GET health p95, the same server idle",
                health["load_p95"],
                health["idle_p95"],
                goal="<= 3" if separate else "",
                notes=notes,
                extra={**health, **drive},
            ),
        ]
    return results


def _run_once(
    info: Any, load: Load, separate: bool
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Stage the copies, measure, discard the copies' rules; (lag, health, driver) figures."""
    from jupyter_wp5.data.rucio_connection import RucioConnection

    from .copy import discard_rules

    admin = RucioConnection(rucio_config=str(info.root_rucio_config)).new_client()
    dids = _stage_copies(admin, load)
    try:
        with separate_cores(separate) as placement:
            measured = asyncio.run(_measure(info, load, dids, placement))
    finally:
        for did in dids:
            discard_rules(admin, *did.split(":"))
    return measured["lag"], measured["health"], measured["drive"]


def _stage_copies(admin: Any, load: Load) -> list[str]:
    """``load.copies`` new datasets at SITE-A only, for copies to SITE-B that move bytes."""
    from .copy import stage_dataset

    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
    dids = []
    for i in range(load.copies):
        dataset = f"load.{stamp}.{i}"
        stage_dataset(admin, "bench", dataset, load.files_per_copy, load.file_size)
        dids.append(f"bench:{dataset}")
    return dids


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _place(pids: list[int], cpus: set[int]) -> None:
    """Pin every thread of these processes to ``cpus`` (threads made later inherit it)."""
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), cpus)


@contextlib.contextmanager
def separate_cores(separate: bool) -> Iterator[dict[str, list[int]]]:
    """With ``separate``, the server (this process) on a CPU of its own and the load on the
    others: the playground's services (this process's children: Rucio, its daemons, storage)
    and the driver. So the server's latency is its own work's, not the scheduler's sharing two
    CPUs among a server, Rucio and a load generator, as at a facility where Rucio runs on
    machines of its own. Without it, or on a machine with one CPU, everything shares."""
    everything = os.sched_getaffinity(0)
    if not separate or len(everything) < 2:
        yield {"server": sorted(everything), "load": sorted(everything)}
        return
    server = {min(everything)}
    rest = everything - server
    _place([os.getpid()], server)
    _place(_descendants(os.getpid()), rest)
    try:
        yield {"server": sorted(server), "load": sorted(rest)}
    finally:
        _place([os.getpid(), *_descendants(os.getpid())], everything)


async def _measure(
    info: Any, load: Load, dids: list[str], placement: dict[str, list[int]]
) -> dict[str, Any]:
    from jupyter_server.serverapp import ServerApp
    from traitlets.config import Config

    work = Path(tempfile.mkdtemp(prefix="wp5-bench-load-"))
    for name in ("config", "data", "runtime"):
        (work / name).mkdir()
    # The server's own Jupyter directories, so that nothing of the user's is read or written.
    saved = dict(os.environ)
    os.environ.update(
        JUPYTER_CONFIG_DIR=str(work / "config"),
        JUPYTER_DATA_DIR=str(work / "data"),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
    )
    token, port = secrets.token_hex(16), _free_port()
    config = Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "IdentityProvider": {"token": token},
            "RucioConnection": {"rucio_config": str(info.rucio_config)},
            "DownloadManager": {"scratch_dir": str(work / "scratch")},
        }
    )
    app = ServerApp.instance(
        config=config,
        port=port,
        port_retries=0,
        open_browser=False,
        allow_root=True,
        root_dir=str(work),
        log_level="WARN",
    )
    app.init_signal = lambda: None  # type: ignore[method-assign]
    app.initialize(argv=[])
    app.start_app()
    await app._post_start()  # the extensions' start hooks, as ServerApp.start_ioloop runs them
    lag = LoopLag()
    lag.start()
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load",
            "--drive",
            json.dumps(
                {
                    "url": f"http://127.0.0.1:{port}/wp5/api/",
                    "token": token,
                    "load": load.__dict__,
                    "dids": dids,
                    "rucio": info.rucio_url,
                }
            ),
            cwd=str(Path(__file__).resolve().parents[1]),
            stdout=asyncio.subprocess.PIPE,
            preexec_fn=lambda: os.sched_setaffinity(0, set(placement["load"])),
        )
        out, _ = await child.communicate()
        if child.returncode:
            raise RuntimeError(f"B8: the load driver failed (exit {child.returncode})")
        drive = json.loads(out)
    finally:
        lag.stop()
        await app._cleanup()
        ServerApp.clear_instance()
        os.environ.clear()
        os.environ.update(saved)
    drive.update(server_cpus=placement["server"], load_cpus=placement["load"])
    window = drive.pop("load")
    idle = lag.between(*drive.pop("idle"))
    loaded = lag.between(*window)
    gc_full, gc_longest = lag.collections_between(*window)
    health_idle, health_load = drive.pop("health_idle"), drive.pop("health_load")
    health = {
        "idle_p95": p95(health_idle),
        "load_p95": p95(health_load),
        "load_median": statistics.median(health_load),
        "load_samples": len(health_load),  # one after another: few when each is slow
    }
    health["ratio"] = health["load_p95"] / health["idle_p95"]
    return {
        "lag": {
            "idle_p95": p95(idle),
            "load_p95": p95(loaded),
            "load_max": max(loaded),
            "load_median": statistics.median(loaded),
            "samples": len(loaded),
            "gc_full": gc_full,
            "gc_longest": gc_longest,
        },
        "health": health,
        "drive": drive,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the clients, in their own process ---------------------------------------------------------


async def _drive(url: str, token: str, load: Load, dids: list[str], rucio: str) -> dict[str, Any]:
    """Idle: health (and Rucio's own /ping, to tell its share) one after another. Loaded: the
    copies requested, then waves of the searches through a gate of ``load.concurrency`` (until
    health has ``load.loaded_health`` samples) while health and /ping are sampled. Monotonic
    times mark both phases for the server's lag samples."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    AsyncHTTPClient.configure(None, max_clients=load.concurrency + 4)
    http = AsyncHTTPClient()
    headers = {"Authorization": f"token {token}"}
    ping = rucio.rstrip("/") + "/ping"

    async def fetch(path: str, method: str = "GET", body: Any = None) -> tuple[int, float]:
        start = time.monotonic()
        answer = await http.fetch(
            path if "://" in path else url + path,
            method=method,
            headers=headers,
            body=None if body is None else json.dumps(body),
            raise_error=False,
            request_timeout=120,
        )
        return answer.code, time.monotonic() - start

    # The driver's own loop: how much of a latency seen here is the client's, not the server's.
    own_lag = LoopLag()
    own_lag.start()
    ws_url = url.replace("http://", "ws://") + "events"
    ws = await websocket_connect(HTTPRequest(ws_url, headers=headers))
    await fetch("health")  # warm: Rucio token, connections
    await fetch("datasets?q=cms:*")

    idle_start = time.monotonic()
    health_idle, ping_idle = [], []
    for _ in range(load.idle_health):
        health_idle.append((await fetch("health"))[1])
        ping_idle.append((await fetch(ping))[1])
    idle = (idle_start, time.monotonic())

    load_start = time.monotonic()
    made = [await fetch("replicas", "POST", {"did": d, "rse_expression": "SITE-B"}) for d in dids]
    copies_requested = sum(1 for code, _ in made if code == 201)
    ok: set[str] = set()
    done = asyncio.Event()

    async def listen() -> None:
        while (raw := await ws.read_message()) is not None:
            event = json.loads(raw)
            if event["type"] == "replica" and event["data"]["state"] == "OK":
                ok.add(event["data"]["did"])

    ping_load: list[float] = []

    health_load: list[float] = []

    async def health_sampler() -> None:
        while not done.is_set():
            health_load.append((await fetch("health"))[1])
            ping_load.append((await fetch(ping))[1])
            await asyncio.sleep(0.05)

    gate = asyncio.Semaphore(load.concurrency)

    async def search(i: int) -> int:
        async with gate:
            pattern = PATTERNS[i % len(PATTERNS)]
            return (await fetch(f"datasets?q={pattern}&limit=100"))[0]

    listener = asyncio.ensure_future(listen())
    sampler = asyncio.ensure_future(health_sampler())
    codes: list[int] = []
    while not codes or len(health_load) < load.loaded_health:
        codes += await asyncio.gather(*(search(i) for i in range(load.searches)))
    done.set()
    await sampler
    loaded = (load_start, time.monotonic())
    ws.close()
    listener.cancel()
    own_lag.stop()
    return {
        "idle": idle,
        "load": loaded,
        "health_idle": health_idle,
        "health_load": health_load,
        "rucio_ping_idle_p95": p95(ping_idle),
        "rucio_ping_load_p95": p95(ping_load),
        "driver_lag_load_p95": p95(own_lag.between(*loaded)),
        "searches": len(codes),
        "searches_ok": codes.count(200),
        "search_codes": sorted(set(codes)),
        "copies_requested": copies_requested,
        "copies_ok": len(ok & set(dids)),
        "load_s": loaded[1] - loaded[0],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--drive", required=True, help="(internal) the driver's JSON settings")
    settings = json.loads(parser.parse_args(argv).drive)
    load = Load(**settings["load"])
    result = asyncio.run(
        _drive(settings["url"], settings["token"], load, settings["dids"], settings["rucio"])
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
