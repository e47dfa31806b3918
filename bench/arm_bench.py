"""Emulated aarch64 workers: how long one takes to join, and dimuon events/s against x86.

One scheduler holds one x86 worker (resource ``X86``) and one emulated aarch64 worker (``ARM``,
qemu user emulation, see jupyter_wp5/compute/arm_launcher.py). The join time is from starting the
worker process to the scheduler seeing it. The same coffea dimuon processor then runs over the same
synthetic NanoAOD, all chunks routed to one worker, then the other; a first pass warms both up
(imports, numba), and the median of the timed passes is reported. The histograms must be equal.
Expect the aarch64 worker to be many times slower: this shows correctness, not speed.

    python bench/arm_bench.py [--events 200000] [--repeat 3] [--joins 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import hist
from coffea import processor


class DimuonMass(processor.ProcessorABC):
    """Opposite-charge muon pairs' invariant mass (as in tests/integration/test_analysis.py).

    Defined in ``__main__``, so cloudpickle sends it to the workers by value.
    """

    def process(self, events):
        muons = events.Muon[(events.Muon.pt > 20) & (abs(events.Muon.eta) < 2.4)]
        pairs = muons[ak.num(muons) == 2]
        pairs = pairs[ak.sum(pairs.charge, axis=1) == 0]
        mass = (pairs[:, 0] + pairs[:, 1]).mass
        h = hist.Hist.new.Reg(80, 70, 110, name="mass").Double()
        return {"events": len(events), "mass": h.fill(mass=ak.to_numpy(mass))}

    def postprocess(self, accumulator):
        return accumulator


def _wait_for_workers(client, n: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while len(client.scheduler_info(n_workers=-1)["workers"]) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {n} workers after {timeout:g} s")
        time.sleep(0.05)


def _join_seconds(rootfs, scheduler: str, client, have: int) -> tuple[float, subprocess.Popen]:
    from jupyter_wp5.compute.arm_launcher import worker_command

    start = time.perf_counter()
    proc = subprocess.Popen(
        worker_command(rootfs, scheduler, resources={"ARM": 1}, host="127.0.0.1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_workers(client, have + 1)
    return time.perf_counter() - start, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in total (2 files)")
    parser.add_argument("--chunksize", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per worker")
    parser.add_argument("--joins", type=int, default=2, help="worker joins to time")
    args = parser.parse_args()

    import numpy as np
    from distributed import Client, LocalCluster

    import jupyter_wp5 as wp5
    from jupyter_wp5.compute.arm_rootfs import ArmRootfs
    from jupyter_wp5.playground.datagen import write_nanoaod

    rootfs = ArmRootfs.default()
    reason = rootfs.why_not_ready()
    if reason:
        sys.exit(reason)
    with tempfile.TemporaryDirectory() as tmp:
        half = args.events // 2
        files = {}
        for i in range(2):
            path = Path(tmp) / f"dy_{i}.root"
            write_nanoaod(path, "zmumu", half, seed=i, first_event=1 + half * i)
            files[str(path)] = "Events"
        fileset = {"DYJetsToLL": {"files": files}}

        with (
            LocalCluster(
                n_workers=1, threads_per_worker=1, resources={"X86": 1}, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            joins = []
            for _ in range(args.joins):
                seconds, proc = _join_seconds(rootfs, cluster.scheduler_address, client, 1)
                joins.append(seconds)
                if len(joins) < args.joins:
                    proc.terminate()
                    proc.wait(60)
                    _wait_for_workers_gone(client, 1)
            try:
                rates, hists = {}, {}
                for tag in ("X86", "ARM"):
                    times = []
                    for i in range(args.repeat + 1):
                        start = time.perf_counter()
                        out = wp5.run(
                            DimuonMass(), fileset, client, chunksize=args.chunksize,
                            resources={tag: 1}, progress=False,
                        )  # fmt: skip
                        if i:  # the first pass warms the worker up
                            times.append(time.perf_counter() - start)
                    rates[tag] = out["events"] / statistics.median(times)
                    hists[tag] = out["mass"].values()
            finally:
                proc.terminate()
                proc.wait(60)
    same = np.array_equal(hists["X86"], hists["ARM"])
    print(f"aarch64 worker join (qemu, no nanny): {', '.join(f'{s:.1f} s' for s in joins)}")
    print(f"dimuon, {args.events} events, chunks of {args.chunksize}, median of {args.repeat}:")
    print(f"  x86_64 worker:           {rates['X86']:12,.0f} events/s")
    print(f"  aarch64 worker (qemu):   {rates['ARM']:12,.0f} events/s")
    print(f"  ratio x86/aarch64:       {rates['X86'] / rates['ARM']:12.1f}")
    print(f"  histograms identical:    {same}")


def _wait_for_workers_gone(client, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(client.scheduler_info(n_workers=-1)["workers"]) > n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"more than {n} workers after {timeout:g} s")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
