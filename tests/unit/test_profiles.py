"""Profiles, their configuration and whether the local backend can serve them (starts nothing)."""

from __future__ import annotations

import pytest
from traitlets import TraitError
from traitlets.config import Config

from jupyter_wp5.compute.backends.local import LocalBackend
from jupyter_wp5.compute.manager import ClusterManager
from jupyter_wp5.compute.profiles import Profile, ProfileRegistry, parse_memory
from jupyter_wp5.models import ClusterSize, InvalidRequest, NotFound


class Machine(LocalBackend):
    """The local backend on a machine of our choosing: only the detection is replaced."""

    def __init__(self, arch: str = "x86_64", gpus: int = 0, **kwargs):
        # No emulated aarch64 Python either (tests/integration/test_arm_workers.py has one).
        kwargs.setdefault("arm_rootfs", "/nonexistent/wp5-arm64")
        super().__init__(**kwargs)
        self._arch, self._gpus = arch, gpus

    def machine(self) -> str:
        return self._arch

    def gpus(self) -> int:
        return self._gpus


def test_shipped_profiles():
    registry = ProfileRegistry()
    assert [p.name for p in registry.all()] == ["cpu", "gpu", "arm", "fpga"]
    gpu = registry.get("gpu")
    assert gpu.resources == {"GPU": 1} and gpu.gpus == 1 and gpu.worker_memory == 4 * 2**30
    assert registry.get("arm").arch == "aarch64"


@pytest.mark.parametrize(
    ("name", "backend", "servable", "words"),
    [
        ("cpu", Machine(), True, ()),
        ("arm", Machine("x86_64"), False, ("aarch64", "x86_64")),
        ("arm", Machine("aarch64"), True, ()),
        ("arm", Machine("arm64"), True, ()),
        ("gpu", Machine(gpus=0), False, ("GPU",)),
        ("gpu", Machine(gpus=1), True, ()),
        ("fpga", Machine(gpus=1), False, ("FPGA",)),
    ],
)
def test_servability_gives_a_reason_and_never_falls_back_to_cpu(name, backend, servable, words):
    manager = ClusterManager(backends={"local": backend}, records_path="")
    reason = manager.check_servable(manager.registry.get(name))
    assert (reason is None) == servable, reason
    for word in words:
        assert word in reason


def test_a_profile_for_another_backend_is_not_servable():
    profile = Profile.from_config("hpc", {"backend": "jobqueue"})
    manager = ClusterManager(backends={"jobqueue": Machine()}, records_path="")
    assert "needs the 'jobqueue' backend, not 'local'" in manager.check_servable(profile)


def test_profiles_from_configuration_replace_the_defaults():
    config = Config()
    config.ProfileRegistry.profiles = {
        "big": {"label": "Big", "worker_cores": 4, "worker_memory": "16 GB", "max_workers": 2}
    }
    registry = ProfileRegistry(config=config)
    (big,) = registry.all()
    assert (big.worker_cores, big.worker_memory, big.max_workers) == (4, 16 * 10**9, 2)
    with pytest.raises(NotFound, match="known: big"):
        registry.get("cpu")


@pytest.mark.parametrize(
    "entry",
    [
        {"worker_cores": 0},
        {"worker_memory": "lots"},
        {"resources": {"GPU": -1}},
        {"max_workers": "4"},
        {"label": 3},
        {"gpu_count": 1},
    ],
)
def test_bad_profile_configuration_is_an_error_at_start_up(entry):
    with pytest.raises(TraitError):
        ProfileRegistry(profiles={"bad": entry})


def test_parse_memory():
    assert parse_memory("4 GiB") == 4 * 2**30
    assert parse_memory("512M") == 512 * 2**20
    assert parse_memory("2GB") == 2 * 10**9
    assert parse_memory(1000) == 1000
    for bad in ("", "4 parsecs", 0, "-1 GB"):
        with pytest.raises(ValueError):
            parse_memory(bad)


def test_cluster_size_parsing():
    assert ClusterSize.parse({"workers": 2}) == ClusterSize(workers=2)
    assert ClusterSize.parse({}, default_workers=1) == ClusterSize(workers=1)
    size = ClusterSize.parse({"adaptive": {"maximum": 3}})
    assert size.adaptive and (size.minimum, size.maximum, size.largest) == (0, 3, 3)
    for bad in (
        {},
        {"workers": True},
        {"workers": 1.5},
        {"workers": 1, "adaptive": {"maximum": 1}},
        {"adaptive": {"minimum": 1}},
        {"adaptive": []},
    ):
        with pytest.raises(InvalidRequest):
            ClusterSize.parse(bad)


def test_default_backend_serves_profiles_that_name_none():
    registry = ProfileRegistry(
        default_backend="gateway",
        profiles={"plain": {}, "hpc": {"backend": "jobqueue"}},
    )
    assert {p.name: p.backend for p in registry.all()} == {"plain": "gateway", "hpc": "jobqueue"}


def test_manager_routes_each_profile_to_the_backend_it_names(tmp_path):
    import asyncio

    from jupyter_wp5.compute.manager import ClusterManager

    registry = ProfileRegistry(
        profiles={
            "here": {},
            "gw": {"backend": "gateway"},
            "hpc": {"backend": "jobqueue", "resources": {"FPGA": 1}},
            "odd": {"backend": "kubernetes"},
        }
    )
    manager = ClusterManager(registry=registry, records_path=str(tmp_path / "c.json"))
    try:
        reasons = {p.name: p.reason for p in asyncio.run(manager.profiles())}
    finally:
        manager.shutdown()
    assert reasons["here"] is None
    assert "no dask-gateway is configured" in reasons["gw"]
    assert "FPGA" in reasons["hpc"]
    assert "'kubernetes'" in reasons["odd"] and "local, gateway, jobqueue" in reasons["odd"]
    assert set(manager.backends) == {"local", "gateway", "jobqueue"}
    assert not (tmp_path / "c.json").exists()  # listing profiles records nothing
