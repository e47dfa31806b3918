"""B5 coffea throughput: dimuon events/s with ``jupyter_wp5.run`` on a 2-worker cluster from the
cluster manager, against coffea's own ``Runner`` + ``DaskExecutor`` on a default
``LocalCluster(n_workers=2)``, and against the limit: plain uproot + awkward in this one process,
times the number of workers.

All three read the same local NanoAOD files: the playground's ``--scale large`` data (8.4 M events
in 42 files), generated once into the data cache; ``--smoke`` uses small files. Each repetition
runs the three one after the other (so machine noise hits all alike) and checks that ``run`` and
coffea filled the same histogram, bin by bin. coffea is given a fresh metadata cache each time,
as in a new notebook session (its default cache would skip its preprocessing from the second run
on); ``run`` gets the event counts from the fileset, as the catalogue's fileset carries them.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import awkward as ak
import cloudpickle
import numpy as np
import uproot
from coffea import processor

from .common import Result

WORKERS = 2
# The smoke run: 3 datasets of 2 files of 5,000 events (seconds, not minutes).
SMOKE_FILES, SMOKE_EVENTS = 2, 5_000


def _histogram() -> Any:
    import hist

    return (
        hist.Hist.new.StrCat([], name="dataset", growth=True)
        .Reg(120, 60, 120, name="mass", label="m_mumu [GeV]")
        .Double()
    )


class DimuonMass(processor.ProcessorABC):
    """The demo notebook's processor (demos/01-dimuon-z-peak.ipynb)."""

    def process(self, events: Any) -> Any:
        muons = events.Muon[(events.Muon.pt > 20) & (abs(events.Muon.eta) < 2.4)]
        pairs = muons[ak.num(muons) == 2]
        pairs = pairs[ak.sum(pairs.charge, axis=1) == 0]
        mass = (pairs[:, 0] + pairs[:, 1]).mass
        dataset = events.metadata["dataset"]
        h = _histogram()
        h.fill(dataset=dataset, mass=ak.to_numpy(mass))
        return {"mass": h, "events": {dataset: len(events)}}

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator


cloudpickle.register_pickle_by_value(sys.modules[__name__])


def plain(fileset: dict[str, Any]) -> Any:
    """The limit: the same histogram with uproot + awkward + numpy in this process, reading only
    the muon branches of each file, whole, in one go."""
    h = _histogram()
    branches = ["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_charge"]
    for dataset, entry in fileset.items():
        for path, tree in entry["files"].items():
            with uproot.open(path) as f:
                pt, eta, phi, m, q = (f[tree].arrays(branches)[b] for b in branches)
            good = (pt > 20) & (abs(eta) < 2.4)
            pt, eta, phi, m, q = (x[good] for x in (pt, eta, phi, m, q))
            pair = (ak.num(pt) == 2) & (ak.sum(q, axis=1) == 0)
            h.fill(dataset=dataset, mass=_mass(*(x[pair] for x in (pt, eta, phi, m))))
    return h


def _mass(pt: Any, eta: Any, phi: Any, m: Any) -> Any:
    """Invariant mass of each event's two muons, from their Cartesian sum as coffea computes it."""
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    t, x, y, z = (ak.to_numpy(ak.sum(v, axis=1)) for v in (e, px, py, pz))
    return np.sqrt(np.maximum(t**2 - x**2 - y**2 - z**2, 0))


def fileset(smoke: bool) -> dict[str, Any]:
    """The playground's NanoAOD datasets as a fileset of local files, with each file's event
    count in ``file_events`` (what the catalogue's fileset carries)."""
    from jupyter_wp5.playground.datagen import default_cache_dir
    from jupyter_wp5.playground.scales import SCALES
    from jupyter_wp5.playground.seed import DATASETS, _generate

    large = SCALES["large"]
    n_files = SMOKE_FILES if smoke else large.files_per_dataset
    events = SMOKE_EVENTS if smoke else large.events_per_file
    out: dict[str, Any] = {}
    for index, plan in enumerate(DATASETS):
        if plan.kind != "nanoaod":
            continue
        files = _generate(plan, index, int(n_files or 0), int(events or 0), default_cache_dir())
        out[plan.name] = {
            "files": {str(g.path): "Events" for g in files},
            "metadata": {"did": f"{plan.scope}:{plan.name}"},
            "file_events": {str(g.path): g.events for g in files},
        }
    return out


def same_histogram(a: Any, b: Any) -> bool:
    """Whether two dataset x mass histograms hold the same counts in every bin of every dataset
    (the dataset axis grows in whatever order the chunks came back)."""
    names = set(a.axes["dataset"])
    return names == set(b.axes["dataset"]) and all(
        np.array_equal(a[n, :].values(flow=True), b[n, :].values(flow=True)) for n in names
    )


def b5(repeat: int, smoke: bool) -> list[Result]:
    """B5: the three runs, interleaved ``repeat`` times after a short warm-up."""
    from dask.distributed import Client, LocalCluster

    files = fileset(smoke)
    total = sum(sum(e["file_events"].values()) for e in files.values())
    with (
        _our_cluster() as ours_client,
        LocalCluster(n_workers=WORKERS, dashboard_address=None) as local,
        Client(local) as coffea_client,
    ):
        # Warm up on one file of each dataset: imports on the workers, the files' headers read.
        for fn in _runs(_first_files(files), ours_client, coffea_client).values():
            fn()
        runs = _runs(files, ours_client, coffea_client)
        clients = {"ours": ours_client, "coffea": coffea_client}
        times, cpu, loads, outs = _interleaved(runs, lambda: _cpu_of(clients), repeat, total)
    rate = {k: total / statistics.median(v) for k, v in times.items()}
    limit = rate["plain"] * WORKERS
    extra = {
        "events": total,
        "files": sum(len(e["files"]) for e in files.values()),
        "seconds": times,
        "cpu_seconds": cpu,
        # Events per CPU-second: ours and coffea on all their workers, plain in one process.
        "events_per_cpu_s": {k: total / statistics.median(v) for k, v in cpu.items()},
        "load_1min": loads,
        "plain_one_process_events_per_s": rate["plain"],
        "pairs": {k: float(out["mass"].sum()) for k, out in outs.items()},
    }
    print(
        f"B5: {total:,} events; median s {_medians(times)}; CPU s {_medians(cpu)}; load {loads}",
        flush=True,
    )
    notes = f"{total / 1e6:.1f} M events; load average {min(loads):.1f}-{max(loads):.1f} on the run"
    return [
        Result(
            "B5a",
            f"coffea dimuon, {WORKERS} workers: jupyter_wp5.run",
            f"coffea Runner + DaskExecutor on a default LocalCluster(n_workers={WORKERS})",
            rate["ours"],
            rate["coffea"],
            unit="events/s",
            goal=">= 1.3",
            notes=notes,
            extra=extra,
        ),
        Result(
            "B5b",
            f"coffea dimuon, {WORKERS} workers: jupyter_wp5.run against the limit",
            f"plain uproot + awkward in one process x {WORKERS}",
            rate["ours"],
            limit,
            unit="events/s",
            goal=">= 0.5",
            notes=notes,
        ),
    ]


def _runs(files: dict[str, Any], ours_client: Any, coffea_client: Any) -> dict[str, Any]:
    return {
        "ours": lambda: _ours(files, ours_client),
        "coffea": lambda: _coffea(files, coffea_client),
        "plain": lambda: {"mass": plain(files)},
    }


def _cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(clients: dict[str, Any]) -> dict[str, float]:
    """CPU seconds used so far by each run's processes: the workers of its cluster, or this
    process for the plain run. On a shared machine these say more than wall time does."""
    out = {name: sum(client.run(_cpu_seconds).values()) for name, client in clients.items()}
    return {**out, "plain": _cpu_seconds()}


def _first_files(files: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, entry in files.items():
        first = next(iter(entry["files"]))
        out[name] = {**entry, "files": {first: entry["files"][first]}}
    return out


def _ours(files: dict[str, Any], client: Any) -> Any:
    import jupyter_wp5 as wp5

    return wp5.run(DimuonMass(), files, client, progress=False)


def _coffea(files: dict[str, Any], client: Any) -> Any:
    from coffea.nanoevents import NanoAODSchema

    # A fresh metadata cache: a new session's first run (coffea's module-level cache would skip
    # its preprocessing from the second call in this process on).
    runner = processor.Runner(
        executor=processor.DaskExecutor(client=client, status=False),
        schema=NanoAODSchema,
        metadata_cache={},
    )
    return runner(files, processor_instance=DimuonMass())


def _interleaved(
    runs: dict[str, Callable[[], Any]],
    cpu_of: Callable[[], dict[str, float]],
    repeat: int,
    total: int,
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[float], dict[str, Any]]:
    """All the runs in turn, ``repeat`` times: wall and CPU seconds of each; checks every
    repetition's answers."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    loads = []
    outs: dict[str, Any] = {}
    for _ in range(repeat):
        loads.append(os.getloadavg()[0])
        for name, fn in runs.items():
            cpu_before = cpu_of()[name]
            start = time.perf_counter()
            outs[name] = fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(cpu_of()[name] - cpu_before)
        if not same_histogram(outs["ours"]["mass"], outs["coffea"]["mass"]):
            raise AssertionError("jupyter_wp5.run and coffea filled different histograms")
        if sum(outs["ours"]["events"].values()) != total:
            raise AssertionError(f"run saw {outs['ours']['events']}, not {total} events")
    return times, cpu, loads, outs


def _medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {k: round(statistics.median(v), 2) for k, v in times.items()}


class _our_cluster:
    """A 2-worker ``cpu`` cluster from the cluster manager (as ``%wp5 cluster new`` makes it),
    and a client of it; both closed on exit."""

    def __enter__(self) -> Any:
        import asyncio
        import tempfile

        from jupyter_wp5.compute.manager import ClusterManager
        from jupyter_wp5.kernel.cluster import Cluster
        from jupyter_wp5.models import ClusterSize

        records = Path(tempfile.mkdtemp(prefix="wp5-bench-")) / "clusters.json"
        self.manager = ClusterManager(records_path=str(records))
        self.loop = asyncio.new_event_loop()
        self.info = self.loop.run_until_complete(
            self.manager.create("cpu", ClusterSize(workers=WORKERS))
        )
        self.client = Cluster(self.info, None).get_client()  # type: ignore[arg-type]
        self.client.wait_for_workers(WORKERS)
        return self.client

    def __exit__(self, *exc: object) -> None:
        try:
            self.client.close()
            self.loop.run_until_complete(self.manager.close(self.info.id))
        finally:
            self.manager.shutdown()
            self.loop.close()
