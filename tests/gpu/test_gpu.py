"""GPU suite: dask-cuda, a coffea processor computing on the GPU, the gpu profile end to end.

Runs on a machine with an NVIDIA GPU (``scripts/test-gpu`` installs dask-cuda and cupy first);
everywhere else every test skips and says why. Nothing here fakes a GPU.
"""

from __future__ import annotations

import importlib.util
import sys

import awkward as ak
import cloudpickle
import numpy as np
import pytest
from coffea import processor
from traitlets.config import Config

import jupyter_wp5 as wp5
from jupyter_wp5.compute.backends.local import count_nvidia_gpus
from jupyter_wp5.playground.datagen import write_nanoaod

from ..api.test_clusters_api import call
from ..api.test_clusters_gateway import gateway_config, gateway_name, gateway_session


def _why_not() -> str | None:
    if count_nvidia_gpus() == 0:
        return (
            "no NVIDIA GPU here (no nvidia-smi or /proc/driver/nvidia); run scripts/test-gpu on one"
        )
    missing = [m for m in ("cupy", "dask_cuda") if importlib.util.find_spec(m) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (scripts/test-gpu installs them)"
    return None


WHY_NOT = _why_not()
pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT)),
]

BINS, LOW, HIGH = 80, 70.0, 110.0


def gpu_name() -> str:
    import cupy

    return cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"].decode()


class DimuonMassOnGPU(processor.ProcessorABC):
    """The dimuon mass computed with cupy on the worker's GPU; the histogram counts come back."""

    def __init__(self, device: str = "gpu") -> None:
        self.device = device

    def process(self, events):
        muons = events.Muon[(events.Muon.pt > 20) & (abs(events.Muon.eta) < 2.4)]
        pairs = muons[ak.num(muons) == 2]
        pairs = pairs[ak.sum(pairs.charge, axis=1) == 0]
        if self.device == "gpu":
            import cupy as xp
        else:
            xp = np
        first, second = pairs[:, 0], pairs[:, 1]

        def p4(mu):
            fields = ("pt", "eta", "phi", "mass")
            pt, eta, phi, m = (xp.asarray(ak.to_numpy(mu[f]), dtype=xp.float64) for f in fields)
            px, py, pz = pt * xp.cos(phi), pt * xp.sin(phi), pt * xp.sinh(eta)
            return xp.sqrt(px**2 + py**2 + pz**2 + m**2), px, py, pz

        e1, x1, y1, z1 = p4(first)
        e2, x2, y2, z2 = p4(second)
        mass = xp.sqrt(
            xp.maximum((e1 + e2) ** 2 - (x1 + x2) ** 2 - (y1 + y2) ** 2 - (z1 + z2) ** 2, 0)
        )
        counts, _ = xp.histogram(mass, bins=BINS, range=(LOW, HIGH))
        counts = counts.get() if self.device == "gpu" else counts
        return {"events": len(events), "counts": counts.astype(np.int64)}

    def postprocess(self, accumulator):
        return accumulator


cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def fileset(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("gpu") / "dy.root"
    write_nanoaod(path, "zmumu", 20000, seed=7)
    return {"DYJetsToLL": {"files": {str(path): "Events"}}}


def test_local_cuda_cluster_has_one_worker_per_gpu():
    from dask_cuda import LocalCUDACluster
    from distributed import Client

    with LocalCUDACluster(dashboard_address=None) as cluster, Client(cluster) as client:
        names = client.run(gpu_name)
        assert len(names) == count_nvidia_gpus()
        assert all(names.values())


def test_coffea_processor_on_the_gpu_matches_the_cpu(fileset):
    from dask_cuda import LocalCUDACluster
    from distributed import Client

    cpu = wp5.run(DimuonMassOnGPU("cpu"), fileset, None, chunksize=5000, progress=False)
    with (
        LocalCUDACluster(n_workers=1, resources={"GPU": 1}, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        gpu = wp5.run(
            DimuonMassOnGPU("gpu"), fileset, client, chunksize=5000, resources={"GPU": 1},
            progress=False,
        )  # fmt: skip
    assert gpu["events"] == cpu["events"] == 20000
    # cupy's and numpy's sqrt/sinh may differ in the last bit: a pair may change bins, no more.
    assert gpu["counts"].sum() == cpu["counts"].sum() > 1000
    assert np.abs(gpu["counts"] - cpu["counts"]).max() <= 1


class TestLocalBackend:
    @pytest.fixture
    def jp_server_config(self) -> Config:
        return Config({"ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}}})

    async def test_gpu_profile_runs_on_a_gpu(self, jp_fetch):
        from distributed import Client

        status, _, info = await call(jp_fetch, "POST", "clusters", {"profile": "gpu", "workers": 1})
        assert status == 201, info
        try:
            assert info["gpus"] == 1
            async with Client(info["scheduler_address"], asynchronous=True) as client:
                name = await client.submit(gpu_name, resources={"GPU": 1}, pure=False)
                assert name
        finally:
            await call(jp_fetch, "DELETE", f"clusters/{info['id']}")


class TestGatewayBackend:
    @pytest.fixture
    def jp_server_config(self, dask_gateway) -> Config:
        return Config(
            {
                "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
                **gateway_config(dask_gateway),
            }
        )

    async def test_gpu_profile_runs_on_a_gpu(self, jp_fetch, dask_gateway):
        status, _, info = await call(jp_fetch, "POST", "clusters", {"profile": "gpu", "workers": 1})
        assert status == 201, info
        try:
            async with gateway_session(dask_gateway) as gateway_client:
                cluster = await gateway_client.connect(gateway_name(info))
                try:
                    async with cluster.get_client(set_as_default=False) as client:
                        future = client.submit(gpu_name, resources={"GPU": 1}, pure=False)
                        assert await future
                finally:
                    await cluster.close(shutdown=False)
        finally:
            await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
