"""What this host is, for tests whose expectations depend on it (its CPU architecture)."""

from __future__ import annotations

import platform

from jupyter_wp5.compute.backends.local import normalise_arch
from jupyter_wp5.compute.profiles import DEFAULT_PROFILES

HOST_ARCH = normalise_arch(platform.machine())
OTHER_ARCH = "x86_64" if HOST_ARCH == "aarch64" else "aarch64"
# A profile whose workers need the other architecture, which the local backend cannot serve:
# the shipped "arm" profile on x86_64 hosts, an added "x86" one on aarch64 hosts.
OTHER_ARCH_PROFILE = "arm" if OTHER_ARCH == "aarch64" else "x86"
PROFILES = {
    **DEFAULT_PROFILES,
    "x86": {
        "label": "x86_64 workers",
        "worker_cores": 1,
        "worker_memory": "2 GiB",
        "arch": "x86_64",
        "max_workers": 4,
    },
}
