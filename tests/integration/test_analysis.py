"""jupyter_wp5.run: a coffea processor over a dataset's replicas, on a real Dask cluster."""

from __future__ import annotations

import subprocess
import sys

import awkward as ak
import cloudpickle
import hist
import numpy as np
import pytest
from coffea import processor

import jupyter_wp5 as wp5
from jupyter_wp5.kernel.client import Wp5Client
from jupyter_wp5.kernel.inprocess import InProcessTransport

pytestmark = pytest.mark.rucio

SIGNAL = "cms:DYJetsToLL_M-50_NanoAODv9"
BACKGROUND = "cms:TTTo2L2Nu_NanoAODv9"
Z_MASS = 91.1876


class DimuonMass(processor.ProcessorABC):
    """Opposite-charge muon pairs: their invariant mass, and which workers did the work."""

    def process(self, events):
        from distributed import get_worker

        muons = events.Muon[(events.Muon.pt > 20) & (abs(events.Muon.eta) < 2.4)]
        pairs = muons[ak.num(muons) == 2]
        pairs = pairs[ak.sum(pairs.charge, axis=1) == 0]
        mass = (pairs[:, 0] + pairs[:, 1]).mass
        h = hist.Hist.new.Reg(80, 70, 110, name="mass").Double().fill(mass=ak.to_numpy(mass))
        try:
            where = {get_worker().address}
        except ValueError:  # not on a Dask worker
            where = {"local"}
        return {"events": len(events), "mass": h, "workers": where}

    def postprocess(self, accumulator):
        return accumulator


cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture
def in_process_api(playground, monkeypatch):
    """The Python API without a Jupyter server: the services run in this process."""
    monkeypatch.setenv("RUCIO_CONFIG", str(playground.rucio_config))
    monkeypatch.delenv("JUPYTER_WP5_URL", raising=False)
    wp5.api.set_client(Wp5Client(InProcessTransport()))
    yield
    wp5.api.set_client(None)


def peak(h: hist.Hist) -> float:
    return float(h.axes[0].centers[np.argmax(h.values())])


def test_dimuon_peak_from_a_did_in_process(playground, in_process_api):
    out = wp5.run(DimuonMass(), SIGNAL, rse="SITE-A", progress=False)
    seeded = next(d for d in playground.datasets if d.did == SIGNAL)
    assert out["events"] == sum(f.events for f in seeded.files)
    assert abs(peak(out["mass"]) - Z_MASS) < 1.0


def test_gpu_resources_route_every_chunk_to_gpu_workers(playground, in_process_api):
    """A GPU-tagged worker stands in for a GPU node here (no GPU on this machine)."""
    from distributed import Client, LocalCluster

    fileset = wp5.fileset(SIGNAL, rse="SITE-B")
    with LocalCluster(
        n_workers=1, threads_per_worker=1, resources={"GPU": 1}, dashboard_address=None
    ) as cluster:
        plain = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address,
             "--nthreads", "1", "--no-dashboard"],
        )  # fmt: skip
        try:
            with Client(cluster) as client:
                client.wait_for_workers(2, timeout=60)
                gpu = {a for a, w in client.scheduler_info()["workers"].items() if w["resources"]}
                out = wp5.run(
                    DimuonMass(), fileset, client, chunksize=500, resources={"GPU": 1},
                    progress=False,
                )  # fmt: skip
        finally:
            plain.terminate()
            plain.wait(30)
    assert out["workers"] == gpu
    assert abs(peak(out["mass"]) - Z_MASS) < 1.0


def test_a_did_without_a_site_is_refused(in_process_api):
    with pytest.raises(wp5.models.InvalidRequest, match="which copy"):
        wp5.run(DimuonMass(), SIGNAL)


def test_the_fileset_carries_each_files_event_count_from_the_catalogue(playground, in_process_api):
    entry = wp5.fileset(SIGNAL, rse="SITE-A")[SIGNAL.split(":")[1]]
    seeded = next(d for d in playground.datasets if d.did == SIGNAL)
    assert set(entry["file_events"]) == set(entry["files"])
    assert sorted(entry["file_events"].values()) == sorted(f.events for f in seeded.files)


def test_run_fills_the_same_histogram_as_coffeas_own_runner(playground, in_process_api):
    """Bin by bin, flow bins too, on a real 2-worker cluster; coffea preprocesses as it always
    does (a fresh metadata cache), run takes the catalogue's event counts."""
    from coffea.nanoevents import NanoAODSchema
    from distributed import Client, LocalCluster

    fileset = {**wp5.fileset(SIGNAL, rse="SITE-B"), **wp5.fileset(BACKGROUND, rse="SITE-A")}
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        ours = wp5.run(DimuonMass(), fileset, client, chunksize=700, progress=False)
        runner = processor.Runner(
            executor=processor.DaskExecutor(client=client, status=False),
            chunksize=700,
            schema=NanoAODSchema,
            metadata_cache={},
        )
        theirs = runner(fileset, processor_instance=DimuonMass())
    assert (
        ours["events"]
        == theirs["events"]
        == sum(sum(e["file_events"].values()) for e in fileset.values())
    )
    assert ours["mass"].sum() > 0
    assert np.array_equal(ours["mass"].values(flow=True), theirs["mass"].values(flow=True))


def test_run_cuts_its_chunks_from_the_catalogues_counts_without_opening_the_files(
    playground, in_process_api
):
    """The counts come from the fileset, not from reading each file first: a fileset that says
    each file holds 100 events gets exactly those 100 events of each file read."""
    fileset = wp5.fileset(SIGNAL, rse="SITE-A")
    entry = fileset[SIGNAL.split(":")[1]]
    entry["file_events"] = dict.fromkeys(entry["file_events"], 100)
    out = wp5.run(DimuonMass(), fileset, chunksize=30, progress=False)
    assert out["events"] == 100 * len(entry["files"])
