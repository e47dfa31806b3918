"""Compute profiles: what kind of workers a cluster gets (cores, memory, GPUs, architecture).

Profiles come from configuration, e.g. in ``jupyter_server_config.py``::

    c.ProfileRegistry.profiles = {
        "cpu": {"label": "CPU", "worker_cores": 2, "worker_memory": "4 GiB"},
        "gpu": {"label": "GPU", "resources": {"GPU": 1}, "max_workers": 2},
    }

Each entry is checked when the configuration loads (unknown keys, bad sizes are errors), so a typo
is reported at start-up rather than when a user asks for a cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from traitlets import Dict, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from ..models import NotFound, ProfileInfo

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
}  # fmt: skip
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def parse_memory(value: int | str) -> int:
    """Bytes from ``4294967296``, ``"4 GiB"``, ``"4GB"`` or ``"512M"`` (M, G are binary)."""
    if isinstance(value, bool):
        raise ValueError(f"not a memory size: {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"memory must be positive, not {value}")
        return value
    m = _SIZE_RE.match(str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a memory size: {value!r} (e.g. '4 GiB')")
    size = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if size <= 0:
        raise ValueError(f"memory must be positive, not {value!r}")
    return size


@dataclass(frozen=True)
class Profile:
    """One kind of worker a user may ask for.

    Parameters
    ----------
    name
        Identifier used by the API and the magics (``--profile gpu``).
    label
        Human-readable name for the panel.
    backend
        Which backend serves it: ``local``, ``gateway`` or ``jobqueue`` (the names in
        ``ClusterManager.backend_classes``).
    worker_cores, worker_memory
        Threads and memory limit (bytes) of each worker.
    resources
        Dask worker resources, e.g. ``{"GPU": 1}``; tasks annotated with them run only there.
    arch
        The CPU architecture the workers must have (``aarch64``, ``x86_64``), None for any.
    environment
        The software environment: for the local backend a Python prefix (a venv) to run the
        workers with; None for the server's own.
    max_workers
        The most workers one user may have in a cluster of this profile.
    """

    name: str
    label: str
    backend: str = "local"
    worker_cores: int = 1
    worker_memory: int = 2 * 2**30
    resources: dict[str, float] = field(default_factory=dict)
    arch: str | None = None
    environment: str | None = None
    max_workers: int = 4

    FIELDS = (
        "label", "backend", "worker_cores", "worker_memory", "resources", "arch",
        "environment", "max_workers",
    )  # fmt: skip

    @property
    def gpus(self) -> int:
        return int(self.resources.get("GPU", 0))

    @property
    def fpgas(self) -> int:
        return int(self.resources.get("FPGA", 0))

    @classmethod
    def from_config(
        cls, name: str, entry: dict[str, Any], default_backend: str = "local"
    ) -> Profile:
        """Build and check a profile from one configuration entry; raise ValueError.

        ``default_backend`` serves an entry that names none.
        """
        if not _NAME_RE.match(name):
            raise ValueError(f"profile name {name!r}: use lower-case letters, digits, '-', '_'")
        unknown = set(entry) - set(cls.FIELDS)
        if unknown:
            raise ValueError(f"profile {name!r}: unknown keys {sorted(unknown)}")
        cores = entry.get("worker_cores", 1)
        if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
            raise ValueError(f"profile {name!r}: worker_cores must be a positive integer")
        max_workers = entry.get("max_workers", 4)
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"profile {name!r}: max_workers must be a positive integer")
        resources = entry.get("resources") or {}
        if not isinstance(resources, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) and v > 0
            for k, v in resources.items()
        ):
            raise ValueError(f"profile {name!r}: resources must map names to positive numbers")
        try:
            memory = parse_memory(entry.get("worker_memory", "2 GiB"))
        except ValueError as exc:
            raise ValueError(f"profile {name!r}: {exc}") from None
        return cls(
            name=name,
            label=str(entry.get("label") or name),
            backend=str(entry.get("backend") or default_backend),
            worker_cores=cores,
            worker_memory=memory,
            resources=dict(resources),
            arch=entry.get("arch") or None,
            environment=entry.get("environment") or None,
            max_workers=max_workers,
        )

    def info(self, reason: str | None) -> ProfileInfo:
        return ProfileInfo(
            name=self.name,
            label=self.label,
            backend=self.backend,
            worker_cores=self.worker_cores,
            worker_memory=self.worker_memory,
            resources=dict(self.resources),
            arch=self.arch,
            environment=self.environment,
            max_workers=self.max_workers,
            servable=reason is None,
            reason=reason,
        )


DEFAULT_PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {"label": "CPU workers", "worker_cores": 1, "worker_memory": "2 GiB", "max_workers": 8},
    "gpu": {
        "label": "GPU workers (one GPU each)",
        "worker_cores": 1,
        "worker_memory": "4 GiB",
        "resources": {"GPU": 1},
        "max_workers": 2,
    },
    "arm": {
        "label": "ARM (aarch64) workers",
        "worker_cores": 1,
        "worker_memory": "2 GiB",
        "resources": {"ARM": 1},
        "arch": "aarch64",
        "max_workers": 4,
    },
    "fpga": {
        "label": "FPGA workers",
        "worker_cores": 1,
        "worker_memory": "4 GiB",
        "resources": {"FPGA": 1},
        "max_workers": 1,
    },
}


class ProfileRegistry(LoggingConfigurable):
    """The profiles this server offers, from configuration."""

    profiles = Dict(
        default_value=DEFAULT_PROFILES,
        key_trait=Unicode(),
        value_trait=Dict(
            per_key_traits={
                "label": Unicode(),
                "backend": Unicode(),
                "arch": Unicode(allow_none=True),
                "environment": Unicode(allow_none=True),
                "resources": Dict(),
            }
        ),
        config=True,
        help="Profiles by name. Keys of each: label, backend (default: default_backend), "
        "worker_cores, worker_memory ('4 GiB' or bytes), resources ({'GPU': 1}), "
        "arch ('aarch64' or None), environment (a Python prefix or None), "
        "max_workers (per user and cluster).",
    )

    default_backend = Unicode(
        "local",
        config=True,
        help="The backend of profiles that name none (the shipped ones included): 'local', "
        "'gateway' or 'jobqueue'.",
    )

    @validate("profiles")
    def _check_profiles(self, proposal: Any) -> dict[str, dict[str, Any]]:
        value = proposal["value"]
        if not value:
            raise TraitError("ProfileRegistry.profiles needs at least one profile")
        for name, entry in value.items():
            try:
                Profile.from_config(name, entry, self.default_backend)
            except ValueError as exc:
                raise TraitError(str(exc)) from None
        return value

    def all(self) -> list[Profile]:
        """Every profile, in configuration order."""
        return [
            Profile.from_config(name, entry, self.default_backend)
            for name, entry in self.profiles.items()
        ]

    def get(self, name: str) -> Profile:
        """The profile called ``name``; :class:`NotFound` listing the known ones otherwise."""
        entry = self.profiles.get(name)
        if entry is None:
            known = ", ".join(self.profiles)
            raise NotFound(f"no profile '{name}' (known: {known})")
        return Profile.from_config(name, entry, self.default_backend)
