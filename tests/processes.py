"""Which processes a test left behind: snapshots of every descendant of a process.

A snapshot maps pid -> start time, so a pid the system reuses for an unrelated process is not
taken for one of ours. Zombies (ended, not yet reaped) count as ended.
"""

from __future__ import annotations

import time

import psutil

Snapshot = dict[int, float]


def descendants(pid: int | None = None) -> Snapshot:
    """Every live descendant of ``pid`` (default: this process), at any depth."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return {}
    found = {}
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                found[child.pid] = child.create_time()
        except psutil.Error:
            pass
    return found


def still_running(snapshot: Snapshot) -> dict[int, str]:
    """The processes of ``snapshot`` that still run (same pid, same start): pid -> command line."""
    alive = {}
    for pid, started in snapshot.items():
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == started and proc.status() != psutil.STATUS_ZOMBIE:
                alive[pid] = " ".join(proc.cmdline())
        except psutil.Error:
            pass
    return alive


def assert_all_ended(started: Snapshot, timeout: float = 20.0) -> None:
    """Every process of ``started`` ends within ``timeout`` seconds (wherever it was re-parented),
    else fail naming those left behind."""
    deadline = time.monotonic() + timeout
    while (left := still_running(started)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes left behind: {left}"


def started_since(before: Snapshot, pid: int | None = None) -> Snapshot:
    """Live descendants of ``pid`` that were not in ``before``."""
    return {p: t for p, t in descendants(pid).items() if before.get(p) != t}


def assert_nothing_started(before: Snapshot, pid: int | None = None) -> None:
    """No descendant of ``pid`` runs now that was not in ``before``."""
    assert not (new := still_running(started_since(before, pid))), f"new processes: {new}"


def listening_on(address: str) -> int:
    """The pid of the process listening on ``address``'s TCP port (``tls://127.0.0.1:PORT``)."""
    port = int(address.rsplit(":", 1)[1])
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return conn.pid
    raise AssertionError(f"no process listens on {address}")


def tree(pid: int) -> Snapshot:
    """``pid`` and its live descendants."""
    return {pid: psutil.Process(pid).create_time(), **descendants(pid)}


def spare_runners(snapshot: Snapshot, settle: float = 10.0) -> list[int]:
    """The local backend's spare cluster processes (waiting for a spec) in ``snapshot``.

    A process forked a moment ago may not have exec'd its program yet (it still shows this
    process's command line): wait up to ``settle`` seconds for it to.
    """
    ours = " ".join(psutil.Process().cmdline())
    deadline = time.monotonic() + settle
    while True:
        running = still_running(snapshot)
        if ours not in running.values() or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return [
        pid
        for pid, command in running.items()
        if command.endswith("_local_runner.py --warm") and not _serves_a_cluster(pid)
    ]


def assert_only_a_spare_started(before: Snapshot) -> None:
    """Of the processes started since ``before``, only the local backend's spare (and what it
    started) still runs: a failed or closed cluster left nothing else."""
    left = started_since(before)
    spares = spare_runners(left)
    assert len(spares) <= 1, still_running(left)
    kept = set(tree(spares[0])) if spares else set()
    assert set(still_running(left)) <= kept, still_running(left)


def _serves_a_cluster(pid: int) -> bool:
    # A spare listens on nothing; a cluster's process serves its scheduler and dashboard.
    try:
        return any(c.status == psutil.CONN_LISTEN for c in psutil.Process(pid).net_connections())
    except psutil.Error:
        return False
