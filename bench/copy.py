"""B3 copy: a dataset from SITE-A to SITE-B by a Rucio rule (created as the user's account, as the
panel does; Rucio's daemons copy it with the playground's transfertool, the stand-in for FTS)
from rule creation until the rule is OK, against plain ``xrdcp`` of the same files between the
same two XRootD servers in the same run. Both are reported as MB/s (the medians of ``--repeat``
alternated pairs, each on a new dataset)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .common import Result, not_run

MB = 1000**2
_CHUNK = 8 * 1024 * 1024


def b3(info: Any, smoke: bool, repeat: int = 1) -> list[Result]:
    what = "copy: a dataset SITE-A -> SITE-B, rule created to OK"
    baseline = "plain xrdcp of the same files, one after another"
    if not info.uses_xrootd or not shutil.which("xrdcp"):
        return [not_run("B3", what, baseline, "needs XRootD storage (xrootd-server, xrdcp)")]
    from jupyter_wp5.data.rucio_connection import RucioConnection

    files, size = (2, 4 * 1024 * 1024) if smoke else (16, 64 * 1024 * 1024)
    admin = RucioConnection(rucio_config=str(info.root_rucio_config)).new_client()
    user = RucioConnection(rucio_config=str(info.rucio_config)).new_client()
    # A new dataset for each repetition (its copy at SITE-B must not exist yet); the baseline
    # and ours alternate, so the machine's load hits both alike.
    pairs = [_one_copy(admin, user, files, size) for _ in range(repeat)]
    t_ours = statistics.median(p[0] for p in pairs)
    t_base = statistics.median(p[1] for p in pairs)
    total = files * size / MB
    return [
        Result(
            "B3",
            f"{what} ({total:,.0f} MB, {files} files)",
            baseline,
            total / t_ours,
            total / t_base,
            unit="MB/s",
            goal=">= 0.8 (rate)",
            extra={"ours_s": t_ours, "baseline_s": t_base, "pairs_s": pairs},
        )
    ]


def _one_copy(admin: Any, user: Any, files: int, size: int) -> tuple[float, float]:
    """Seconds for ours and for the baseline to copy one new dataset."""
    scope, dataset = "bench", f"copy.{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    names, at_a = stage_dataset(admin, scope, dataset, files, size)
    at_b = admin.lfns2pfns("SITE-B", list(at_a), operation="write")

    start = time.perf_counter()
    for n in names:
        _xrdcp(at_a[f"{scope}:{n}"], at_b[f"{scope}:{n}"] + ".xrdcp")
    t_base = time.perf_counter() - start
    for n in names:
        _xrdfs_rm(at_b[f"{scope}:{n}"] + ".xrdcp")

    start = time.perf_counter()
    [rule] = user.add_replication_rule([{"scope": scope, "name": dataset}], 1, "SITE-B")
    while (state := str(user.get_replication_rule(rule)["state"]).upper()) != "OK":
        if "STUCK" in state:
            raise RuntimeError(f"B3: the rule {rule} is STUCK")
        time.sleep(0.1)
    t_ours = time.perf_counter() - start
    print(f"B3: ours {t_ours:.1f} s, plain xrdcp {t_base:.1f} s", flush=True)
    discard_rules(admin, scope, dataset)
    return t_ours, t_base


def stage_dataset(
    admin: Any, scope: str, dataset: str, files: int, size: int
) -> tuple[list[str], dict[str, str]]:
    """A new dataset ``scope:dataset`` of ``files`` random files of ``size`` bytes at SITE-A
    only (written there with xrdcp, registered, kept by a rule), so that a copy elsewhere moves
    every byte. Returns its file names and ``scope:name`` -> URL at SITE-A."""
    from jupyter_wp5.playground.rucio_calls import BATCH, create, retry

    create(admin.add_scope, "root", scope)
    names = [f"{dataset}.f{i:02d}" for i in range(files)]
    at_a = admin.lfns2pfns("SITE-A", [f"{scope}:{n}" for n in names], operation="write")
    staging = Path(tempfile.mkdtemp(prefix="wp5-bench-copy-"))
    try:
        sums = {n: _write_random(staging / n, size) for n in names}
        for n in names:
            _xrdcp(str(staging / n), at_a[f"{scope}:{n}"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    replicas = [{"scope": scope, "name": n, "bytes": size, "adler32": sums[n]} for n in names]
    for start in range(0, len(replicas), BATCH):
        retry(admin.add_replicas, "SITE-A", replicas[start : start + BATCH])
    retry(admin.add_dataset, scope, dataset)
    retry(admin.attach_dids, scope, dataset, [{"scope": scope, "name": n} for n in names])
    retry(admin.add_replication_rule, [{"scope": scope, "name": dataset}], 1, "SITE-A")
    return names, at_a


def discard_rules(admin: Any, scope: str, dataset: str) -> None:
    """Expire every rule on the dataset now, its replicas purged (the reaper frees the space)."""
    for r in admin.list_did_rules(scope, dataset):
        admin.update_replication_rule(r["id"], {"lifetime": 1, "purge_replicas": True})


def _write_random(path: Path, size: int) -> str:
    value = 1
    with path.open("wb") as fh:
        for offset in range(0, size, _CHUNK):
            chunk = os.urandom(min(_CHUNK, size - offset))
            value = zlib.adler32(chunk, value)
            fh.write(chunk)
    return f"{value & 0xFFFFFFFF:08x}"


def _xrdcp(source: str, dest: str) -> None:
    subprocess.run(
        ["xrdcp", "--force", "--nopbar", source, dest], check=True, timeout=600, capture_output=True
    )


def _xrdfs_rm(url: str) -> None:
    host, _, path = url.removeprefix("root://").partition("/")
    subprocess.run(
        ["xrdfs", host, "rm", "/" + path.lstrip("/")], check=False, timeout=60, capture_output=True
    )
