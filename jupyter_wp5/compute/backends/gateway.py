"""The ``gateway`` backend: clusters from a dask-gateway server, profiles mapped to its options.

The gateway, not this server, decides what a profile's workers are: it offers a ``profile``
cluster option and its handler sets each profile's worker command (``--resources GPU=1`` for GPU
workers, see RECIPES.md) and limits. This backend picks the option by the profile's name and sends
the profile's cores and memory where the gateway offers such options.

Settings come from configuration (``c.GatewayBackend.address = ...``) or, for the playground,
from ``WP5_GATEWAY_ADDRESS``, ``WP5_GATEWAY_PROXY_ADDRESS``, ``WP5_GATEWAY_USER`` and
``WP5_GATEWAY_PASSWORD`` (the password then stays out of command lines and config files).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from traitlets import Float, Unicode, default

from ...models import ClusterSize, EngineUnavailable
from .base import BackendStatus, ClusterBackend, ClusterHandle

if TYPE_CHECKING:
    from dask_gateway import Gateway, GatewayCluster

    from ..profiles import Profile

ENV_PREFIX = "WP5_GATEWAY_"
PROFILE_OPTION = "profile"


class GatewayHandle(ClusterHandle):
    """A gateway cluster, by its gateway-wide name, and our client-side view of it."""

    def __init__(self, cluster: GatewayCluster) -> None:
        self.cluster = cluster
        self.name: str = cluster.name
        self.scheduler_address = cluster.scheduler_address or ""
        self.dashboard_port = None

    def workers(self) -> dict[str, dict[str, Any]]:
        # Kept current by the cluster's worker-status subscription; copied because that runs on
        # the gateway client's own loop thread.
        return dict(self.cluster.scheduler_info.get("workers", {}))


class GatewayBackend(ClusterBackend):
    """Clusters from a dask-gateway server (``dask_gateway.Gateway``, synchronous client)."""

    name = "gateway"

    address = Unicode(
        config=True, help=f"The gateway's HTTP address (default: ${ENV_PREFIX}ADDRESS)."
    )
    proxy_address = Unicode(
        config=True,
        help="The gateway's scheduler proxy, e.g. gateway://127.0.0.1:8786 (default: "
        f"${ENV_PREFIX}PROXY_ADDRESS, else the HTTP address).",
    )
    auth = Unicode(
        "basic",
        config=True,
        help="How to authenticate: 'basic' (username and password), 'kerberos', 'jupyterhub' "
        "(the JUPYTERHUB_API_TOKEN), or 'none'.",
    )
    username = Unicode(config=True, help=f"For basic auth (default: ${ENV_PREFIX}USER).")
    password = Unicode(config=True, help=f"For basic auth (default: ${ENV_PREFIX}PASSWORD).")
    start_timeout = Float(90.0, config=True, help="Seconds a cluster and its workers may take.")
    options_ttl = Float(
        30.0, config=True, help="Seconds the gateway's cluster options are remembered."
    )

    @default("address")
    def _address_default(self) -> str:
        return os.environ.get(ENV_PREFIX + "ADDRESS", "")

    @default("proxy_address")
    def _proxy_default(self) -> str:
        return os.environ.get(ENV_PREFIX + "PROXY_ADDRESS", "")

    @default("username")
    def _username_default(self) -> str:
        return os.environ.get(ENV_PREFIX + "USER", "")

    @default("password")
    def _password_default(self) -> str:
        return os.environ.get(ENV_PREFIX + "PASSWORD", "")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gateway: Gateway | None = None
        self._lock = threading.Lock()
        self._profiles: tuple[float, list[str] | str] | None = None

    # -- the gateway client ----------------------------------------------------------------------

    def _auth(self) -> Any:
        from dask_gateway.auth import BasicAuth, get_auth

        if self.auth == "basic":
            return BasicAuth(self.username or None, self.password)
        return get_auth(self.auth)

    def gateway(self) -> Gateway:
        """The client, made on first use (a background loop thread of dask-gateway's own)."""
        with self._lock:
            if self._gateway is None:
                from dask_gateway import Gateway

                self._gateway = Gateway(
                    address=self.address,
                    proxy_address=self.proxy_address or None,
                    auth=self._auth(),
                )
            return self._gateway

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one gateway call; any failure becomes :class:`EngineUnavailable` saying what."""
        try:
            return fn(*args, **kwargs)
        except EngineUnavailable:
            raise
        except Exception as exc:
            raise EngineUnavailable(
                f"dask-gateway at {self.address}: {what} failed: {exc or type(exc).__name__}"
            ) from None

    def offered_profiles(self) -> list[str] | str:
        """The profile names the gateway offers, or the reason they could not be read."""
        now = time.monotonic()
        if self._profiles is not None and now - self._profiles[0] < self.options_ttl:
            return self._profiles[1]
        try:
            options = self._call("reading cluster options", self.gateway().cluster_options)
            field = options._fields.get(PROFILE_OPTION)
            offered: list[str] | str = (
                list(field.options) if field is not None and hasattr(field, "options") else []
            )
        except EngineUnavailable as exc:
            offered = str(exc)
        self._profiles = (now, offered)
        return offered

    # -- contract --------------------------------------------------------------------------------

    def can_serve(self, profile: Profile) -> str | None:
        # The gateway's answer is remembered for options_ttl seconds: listing profiles must not
        # cost a round trip each time.
        if not self.address:
            return "no dask-gateway is configured (GatewayBackend.address)"
        offered = self.offered_profiles()
        if isinstance(offered, str):
            return offered
        if profile.name not in offered:
            return (
                f"the dask-gateway at {self.address} offers profiles {', '.join(offered) or 'none'}"
                f", not '{profile.name}'"
            )
        return None

    def _options(self, profile: Profile) -> Any:
        options = self.gateway().cluster_options()
        options[PROFILE_OPTION] = profile.name
        # Cores and memory only where the gateway lets users choose them; its profile decides
        # the rest (worker resources, limits).
        if "worker_cores" in options._fields:
            options["worker_cores"] = profile.worker_cores
        if "worker_memory" in options._fields:
            options["worker_memory"] = profile.worker_memory / 2**30
        return options

    def start(self, profile: Profile, size: ClusterSize) -> GatewayHandle:
        options = self._call("choosing cluster options", self._options, profile)
        # The cluster lives in the gateway, not in this server: it outlives a server restart and
        # is found again by name (see reconnect).
        cluster = self._call(
            "starting a cluster", self.gateway().new_cluster, options, shutdown_on_close=False
        )
        handle = GatewayHandle(cluster)
        try:
            self._resize(handle, size)
        except BaseException:
            self.close(handle)
            raise
        self.log.info("gateway cluster %s for profile %s", handle.name, profile.name)
        return handle

    def _resize(self, handle: GatewayHandle, size: ClusterSize) -> None:
        if size.workers is not None:
            self._call("scaling", handle.cluster.scale, size.workers)
            self._wait_for(handle, size.workers)
        else:
            self._call("adapting", handle.cluster.adapt, size.minimum or 0, size.maximum or 0)
            self._wait_for(handle, size.minimum or 0, at_least=True)

    def _wait_for(self, handle: GatewayHandle, n: int, at_least: bool = False) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            have = len(handle.workers())
            if have == n or (at_least and have >= n):
                return
            if time.monotonic() > deadline:
                raise EngineUnavailable(
                    f"gateway cluster {handle.name}: {have} workers after "
                    f"{self.start_timeout:g} s, expected {n}"
                )
            time.sleep(0.1)

    def scale(self, handle: ClusterHandle, workers: int) -> None:
        assert isinstance(handle, GatewayHandle)
        self._resize(handle, ClusterSize(workers=workers))

    def adapt(self, handle: ClusterHandle, minimum: int, maximum: int) -> None:
        assert isinstance(handle, GatewayHandle)
        self._resize(handle, ClusterSize(minimum=minimum, maximum=maximum))

    def status(self, handle: ClusterHandle) -> BackendStatus:
        assert isinstance(handle, GatewayHandle)
        report = self._call("reading the cluster", self.gateway().get_cluster, handle.name)
        running = report.status.name == "RUNNING"
        workers = list(handle.workers().values()) if running else []
        return BackendStatus(
            running=running,
            workers=len(workers),
            cores=sum(int(w.get("nthreads", 0)) for w in workers),
            memory=sum(int(w.get("memory_limit") or 0) for w in workers),
            gpus=int(sum(w.get("resources", {}).get("GPU", 0) for w in workers)),
            scheduler_address=handle.scheduler_address,
            dashboard_port=None,
            dashboard_address=report.dashboard_link,
        )

    def close(self, handle: ClusterHandle) -> None:
        assert isinstance(handle, GatewayHandle)
        try:
            handle.cluster.shutdown()
        except Exception as exc:
            # Already gone at the gateway is fine; anything else is worth a line in the log.
            self.log.warning("gateway cluster %s: shutdown: %s", handle.name, exc)

    # -- across restarts -------------------------------------------------------------------------

    def release(self, handle: ClusterHandle) -> None:
        # Only our client side ends; the cluster stays in the gateway for the next server.
        assert isinstance(handle, GatewayHandle)
        try:
            handle.cluster.close(shutdown=False)
        except Exception as exc:
            self.log.warning("gateway cluster %s: disconnecting: %s", handle.name, exc)

    def record(self, handle: ClusterHandle) -> dict[str, Any]:
        assert isinstance(handle, GatewayHandle)
        return {"cluster_name": handle.name}

    def reconnect(self, record: dict[str, Any]) -> GatewayHandle | None:
        name = record.get("cluster_name")
        if not name or not self.address:
            return None
        try:
            cluster = self.gateway().connect(name, shutdown_on_close=False)
        except Exception as exc:
            self.log.info("gateway cluster %s is gone: %s", name, exc)
            return None
        return GatewayHandle(cluster)

    def shutdown(self) -> None:
        with self._lock:
            if self._gateway is not None:
                self._gateway.close()
                self._gateway = None
