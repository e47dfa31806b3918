"""The playground's dask-gateway server on loopback, with cpu, gpu and arm profiles.

It runs dask-gateway-server with ``UnsafeLocalBackend`` (clusters are processes of the current
user; never ``LocalBackend`` as root, see RECIPES.md) and a password (``SimpleAuthenticator``).

The ``gpu`` profile is a label for routing, not hardware: its workers are ordinary x86 processes
started with ``--resources GPU=1``, so that tasks annotated ``resources={"GPU": 1}`` can be routed
and tested end to end (the local backend, which checks the hardware, refuses it without a GPU).
The ``arm`` profile is offered only with ``arm_worker``: real aarch64 workers, emulated by qemu
(see :mod:`jupyter_wp5.compute.arm_launcher`); x86 processes are never offered as ARM.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .processes import ManagedProcess, ProcessRegistry, free_ports, port_was_taken, wait_until
from .rucio_config import new_password

__all__ = ["GATEWAY_PROFILES", "GatewayInfo", "PlaygroundGateway"]

USER = "jovyan"
# Starts on new ports when another program took one of the chosen ones first.
_PORT_ATTEMPTS = 5
# Worker resources per gateway profile ("arm" joins them when emulated workers are available).
GATEWAY_PROFILES: dict[str, dict[str, int]] = {"cpu": {}, "gpu": {"GPU": 1}}
ARM_RESOURCES = {"ARM": 1}

_CONFIG = """\
# Written by jupyter_wp5.playground.gateway; rewritten on every start.
from dask_gateway_server.options import Float, Integer, Options, Select

DASK = {dask!r}
RESOURCES = {resources!r}
# The emulated aarch64 `dask worker` (no nanny) of the "arm" profile.
ARM_WORKER = {arm_worker!r}


def _options_handler(options):
    # "gpu" is a routing label on ordinary x86 processes; "arm" workers are emulated aarch64.
    resources = RESOURCES[options.profile]
    tags = ",".join(f"{{name}}={{n}}" for name, n in resources.items())
    command = ARM_WORKER if options.profile == "arm" else [DASK, "worker"]
    return {{
        "worker_cores": options.worker_cores,
        "worker_memory": int(options.worker_memory * 2**30),
        "worker_cmd": [*command, *(["--resources", tags] if tags else [])],
    }}


c.DaskGateway.address = "127.0.0.1:{port}"
c.Proxy.address = "127.0.0.1:{proxy_port}"
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.SimpleAuthenticator.password = {password!r}
c.LocalBackend.clusters_directory = {clusters_dir!r}
c.ClusterConfig.scheduler_cmd = [DASK, "scheduler"]
c.ClusterConfig.worker_cmd = [DASK, "worker"]
c.ClusterConfig.idle_timeout = 0
c.ClusterConfig.cluster_max_workers = 8
# Workers without MALLOC_TRIM_THRESHOLD_ (dask sets 65536; see RECIPES.md).
c.ClusterConfig.environment = {{
    "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON": "{{'MALLOC_TRIM_THRESHOLD_': None}}",
}}
c.Backend.cluster_options = Options(
    Select("profile", {profiles!r}, default="cpu", label="Profile"),
    Integer("worker_cores", 1, min=1, max=4, label="Worker cores"),
    Float("worker_memory", 1.0, min=0.25, max=16.0, label="Worker memory (GiB)"),
    handler=_options_handler,
)
"""


@dataclass(frozen=True)
class GatewayInfo:
    """Where the playground's gateway listens and how to log in."""

    address: str
    proxy_address: str
    username: str
    password: str

    def environ(self) -> dict[str, str]:
        """The variables :class:`~jupyter_wp5.compute.backends.gateway.GatewayBackend` reads."""
        return {
            "WP5_GATEWAY_ADDRESS": self.address,
            "WP5_GATEWAY_PROXY_ADDRESS": self.proxy_address,
            "WP5_GATEWAY_USER": self.username,
            "WP5_GATEWAY_PASSWORD": self.password,
        }


class PlaygroundGateway:
    """Writes the gateway's configuration under ``root`` and runs it as a child of ``processes``.

    Parameters
    ----------
    root
        The gateway's directory (configuration, cluster working directories).
    processes
        Starts and stops the server (the facility's registry, or a test's own).
    arm_worker
        The emulated aarch64 ``dask worker`` command
        (:func:`~jupyter_wp5.compute.arm_launcher.dask_worker_command`); with it the gateway
        offers an "arm" profile, without it none.
    """

    name = "dask-gateway"

    def __init__(
        self, root: Path, processes: ProcessRegistry, arm_worker: list[str] | None = None
    ) -> None:
        self.root = root
        self.processes = processes
        self.arm_worker = arm_worker
        self.info: GatewayInfo | None = None

    @property
    def profiles(self) -> dict[str, dict[str, int]]:
        """Worker resources of each profile the gateway offers."""
        return {**GATEWAY_PROFILES, **({"arm": ARM_RESOURCES} if self.arm_worker else {})}

    def start(self, timeout: float = 60.0) -> GatewayInfo:
        """Start the server on free loopback ports; return once its API answers.

        The ports are free when chosen, but another program may take one before the server binds
        it: then the server exits saying so, and it starts again on new ports.
        """
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port, proxy_port = free_ports(2)
            password = new_password()
            proc = self._spawn(port, proxy_port, password)
            address = f"http://127.0.0.1:{port}"

            def answers(proc: ManagedProcess = proc, address: str = address) -> bool:
                # Our process must still run: the address could be another program's.
                if not proc.running():
                    return False
                try:
                    with urllib.request.urlopen(f"{address}/api/health", timeout=2) as resp:
                        return resp.status == 200
                except (urllib.error.URLError, OSError):
                    return False

            try:
                wait_until(answers, timeout, f"dask-gateway on {address}", proc=proc, interval=0.2)
            except RuntimeError:
                if attempt < _PORT_ATTEMPTS and port_was_taken(proc):
                    self.processes.stop(self.name)
                    continue
                raise
            self.info = GatewayInfo(
                address=address,
                proxy_address=f"gateway://127.0.0.1:{proxy_port}",
                username=USER,
                password=password,
            )
            return self.info
        raise AssertionError("unreachable")

    def _spawn(self, port: int, proxy_port: int, password: str) -> ManagedProcess:
        bindir = Path(sys.executable).parent
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # the configuration holds the password
        config = self.root / "dask_gateway_config.py"
        config.write_text(
            _CONFIG.format(
                dask=str(bindir / "dask"),
                resources=self.profiles,
                profiles=list(self.profiles),
                arm_worker=self.arm_worker,
                port=port,
                proxy_port=proxy_port,
                password=password,
                clusters_dir=str(self.root / "clusters"),
            )
        )
        return self.processes.spawn(
            self.name,
            [str(bindir / "dask-gateway-server"), "--config", str(config)],
            cwd=self.root,
        )

    def stop(self) -> None:
        """Stop the server (its clusters' schedulers and workers with it)."""
        self.processes.stop(self.name)
        self.info = None
