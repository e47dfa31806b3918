"""The ``gateway`` backend: clusters from a dask-gateway server, profiles mapped to its options.

The gateway, not this server, decides what a profile's workers are: it offers a ``profile``
cluster option and its handler sets each profile's worker command (``--resources GPU=1`` for GPU
workers, see RECIPES.md) and limits. This backend picks the option by the profile's name and sends
the profile's cores and memory where the gateway offers such options.

Settings come from configuration (``c.GatewayBackend.address = ...``) or, for the playground,
from ``WP5_GATEWAY_ADDRESS``, ``WP5_GATEWAY_PROXY_ADDRESS``, ``WP5_GATEWAY_USER`` and
``WP5_GATEWAY_PASSWORD`` (the password then stays out of command lines and config files; the
server takes it out of its environment at start: ``GatewayBackend.take_password_from_environ``).
"""

from __future__ import annotations

import asyncio
import os
import platform
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from traitlets import Float, Unicode, default

from ...models import ClusterSize, EngineUnavailable
from .base import BackendStatus, ClusterBackend, ClusterHandle, normalise_arch, wait_for_workers

if TYPE_CHECKING:
    from dask_gateway import Gateway, GatewayCluster
    from traitlets.config import Config

    from ..profiles import Profile

T = TypeVar("T")
ENV_PREFIX = "WP5_GATEWAY_"
STOP_GRACE = 10.0  # seconds to stop a cluster that did not start in time
PROFILE_OPTION = "profile"


class GatewayHandle(ClusterHandle):
    """A gateway cluster, by its gateway-wide name, and our client-side view of it."""

    def __init__(self, cluster: GatewayCluster) -> None:
        self.cluster = cluster
        self.name: str = cluster.name
        self.scheduler_address = cluster.scheduler_address or ""
        self.dashboard_port = None
        # Worker address -> its CPU architecture. The client's view of the scheduler carries no
        # worker versions, so each worker is asked once, when it is first seen.
        self.machines: dict[str, str] = {}

    def workers(self) -> dict[str, dict[str, Any]]:
        # Kept current by the cluster's worker-status subscription; copied because that runs on
        # the backend's loop thread.
        return dict(self.cluster.scheduler_info.get("workers", {}))


class GatewayBackend(ClusterBackend):
    """Clusters from a dask-gateway server (``dask_gateway.Gateway(asynchronous=True)``)."""

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

    @staticmethod
    def take_password_from_environ(config: Config) -> None:
        """Move ``$WP5_GATEWAY_PASSWORD`` into ``config`` (unless it sets one) and out of the
        environment, which every kernel, worker and batch job would otherwise inherit."""
        password = os.environ.pop(ENV_PREFIX + "PASSWORD", None)
        if password and "password" not in config.GatewayBackend:
            config.GatewayBackend.password = password

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gateway: Gateway | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._profiles: tuple[float, list[str] | str] | None = None

    # -- the gateway client, asynchronous on a loop of our own ----------------------------------
    #
    # Synchronous dask-gateway objects close themselves in __del__ by waiting on their loop;
    # when the garbage collector runs that on the loop's own thread (distributed's shared one),
    # it waits forever (seen in our tests). Asynchronous objects have no such __del__, so the
    # backend keeps one asynchronous client on a private loop thread and waits on it from the
    # manager's executor threads.

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=loop.run_forever, name="wp5-gateway", daemon=True
                )
                self._thread.start()
                self._loop = loop
            return self._loop

    def _auth(self) -> Any:
        from dask_gateway.auth import BasicAuth, get_auth

        if self.auth == "basic":
            return BasicAuth(self.username or None, self.password)
        return get_auth(self.auth)

    def gateway(self) -> Gateway:
        """The client; only for use on the backend's loop (inside :meth:`_run`)."""
        if self._gateway is None:
            from dask_gateway import Gateway

            self._gateway = Gateway(
                address=self.address,
                proxy_address=self.proxy_address or None,
                auth=self._auth(),
                asynchronous=True,
            )
        return self._gateway

    async def _guard(self, what: str, make: Callable[[], Awaitable[T]]) -> T:
        try:
            return await make()
        except EngineUnavailable:
            raise
        except Exception as exc:
            raise EngineUnavailable(
                f"dask-gateway at {self.address}: {what} failed: {exc or type(exc).__name__}"
            ) from None

    def _run(self, what: str, make: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
        """Run ``make()`` on the backend's loop and wait (``start_timeout`` unless ``timeout``);
        failures become EngineUnavailable."""
        timeout = self.start_timeout if timeout is None else timeout
        future = asyncio.run_coroutine_threadsafe(self._guard(what, make), self._event_loop())
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise EngineUnavailable(
                f"dask-gateway at {self.address}: {what}: no answer in {timeout:g} s"
            ) from None

    def offered_profiles(self) -> list[str] | str:
        """The profile names the gateway offers, or the reason they could not be read."""
        now = time.monotonic()
        if self._profiles is not None and now - self._profiles[0] < self.options_ttl:
            return self._profiles[1]
        try:
            options = self._run("reading cluster options", lambda: self.gateway().cluster_options())
            # The choices of a Select are only on its field object (no public accessor).
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

    async def _new_cluster(self, profile: Profile, deadline: float, limit: float) -> GatewayCluster:
        """Submit a cluster and connect to it once it runs; stopped again when it is not
        running by ``deadline`` (``time.monotonic()``; ``limit`` seconds after the start) or the
        wait is cancelled."""
        gateway = self.gateway()
        options = await gateway.cluster_options()
        options[PROFILE_OPTION] = profile.name
        # Cores and memory only where the gateway lets users choose them; its profile decides
        # the rest (worker resources, limits).
        if "worker_cores" in options:
            options["worker_cores"] = profile.worker_cores
        if "worker_memory" in options:
            options["worker_memory"] = profile.worker_memory / 2**30
        # The cluster lives in the gateway, not in this server: it outlives a server restart and
        # is found again by name (see reconnect).
        name = await gateway.submit(options)
        try:
            left = max(0.0, deadline - time.monotonic())
            return await asyncio.wait_for(gateway.connect(name, shutdown_on_close=False), left)
        except BaseException as exc:
            await asyncio.shield(gateway.stop_cluster(name))
            if isinstance(exc, TimeoutError):
                raise EngineUnavailable(
                    f"dask-gateway cluster {name} was not running after {limit:g} s; it was stopped"
                ) from None
            raise

    def start(self, profile: Profile, size: ClusterSize, timeout: float) -> GatewayHandle:
        limit = min(self.start_timeout, timeout)
        deadline = time.monotonic() + limit
        # The inner deadline ends the wait first, so the cluster is stopped before we answer.
        cluster = self._run(
            "starting a cluster",
            lambda: self._new_cluster(profile, deadline, limit),
            limit + STOP_GRACE,
        )
        handle = GatewayHandle(cluster)
        try:
            self._scale(handle, size, max(0.0, deadline - time.monotonic()))
        except EngineUnavailable as exc:
            self.close(handle)
            raise EngineUnavailable(
                f"the gateway cluster {handle.name} had not its workers after {limit:g} s "
                f"({exc}); it was stopped"
            ) from None
        except BaseException:
            self.close(handle)
            raise
        self.log.info("gateway cluster %s for profile %s", handle.name, profile.name)
        return handle

    def resize(self, handle: ClusterHandle, size: ClusterSize) -> None:
        self._scale(handle, size, self.start_timeout)

    def _scale(self, handle: ClusterHandle, size: ClusterSize, timeout: float) -> None:
        assert isinstance(handle, GatewayHandle)
        if size.workers is not None:
            n = size.workers
            self._run("scaling", lambda: handle.cluster.scale(n))
        else:
            low, high = size.minimum or 0, size.maximum or 0
            self._run("adapting", lambda: handle.cluster.adapt(low, high))
        what = f"workers in gateway cluster {handle.name}"
        wait_for_workers(lambda: len(handle.workers()), size, timeout, what, 0.1)

    def status(self, handle: ClusterHandle) -> BackendStatus:
        assert isinstance(handle, GatewayHandle)
        report = self._run("reading the cluster", lambda: self.gateway().get_cluster(handle.name))
        running = report.status.name == "RUNNING"
        by_address = handle.workers() if running else {}
        workers = list(by_address.values())
        return BackendStatus(
            running=running,
            workers=len(workers),
            cores=sum(int(w.get("nthreads", 0)) for w in workers),
            memory=sum(int(w.get("memory_limit") or 0) for w in workers),
            gpus=int(sum(w.get("resources", {}).get("GPU", 0) for w in workers)),
            scheduler_address=handle.scheduler_address,
            dashboard_port=None,
            dashboard_address=report.dashboard_link,
            architectures=self._architectures(handle, list(by_address)),
        )

    async def _ask_machines(self, handle: GatewayHandle, addresses: list[str]) -> None:
        async with handle.cluster.get_client(set_as_default=False) as client:
            answers = await client.run(platform.machine, workers=addresses, on_error="ignore")
        handle.machines.update({a: normalise_arch(m) for a, m in answers.items()})

    def _architectures(self, handle: GatewayHandle, addresses: list[str]) -> dict[str, int]:
        new = [a for a in addresses if a not in handle.machines]
        if new:
            try:
                self._run("asking new workers their CPU", lambda: self._ask_machines(handle, new))
            except EngineUnavailable as exc:
                self.log.warning("gateway cluster %s: %s", handle.name, exc)
        counts: dict[str, int] = {}
        for address in addresses:
            arch = handle.machines.get(address, "unknown")
            counts[arch] = counts.get(arch, 0) + 1
        return dict(sorted(counts.items()))

    def close(self, handle: ClusterHandle) -> None:
        assert isinstance(handle, GatewayHandle)
        try:
            self._run("closing the cluster", lambda: handle.cluster.shutdown())
        except Exception as exc:
            # Already gone at the gateway is fine; anything else is worth a line in the log.
            self.log.warning("gateway cluster %s: shutdown: %s", handle.name, exc)

    # -- across restarts -------------------------------------------------------------------------

    def release(self, handle: ClusterHandle) -> None:
        # Only our client side ends; the cluster stays in the gateway for the next server.
        assert isinstance(handle, GatewayHandle)
        try:
            self._run("disconnecting", lambda: handle.cluster.close(shutdown=False))
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
            cluster = self._run(
                "reconnecting", lambda: self.gateway().connect(name, shutdown_on_close=False)
            )
        except Exception as exc:
            self.log.info("gateway cluster %s is gone: %s", name, exc)
            return None
        return GatewayHandle(cluster)

    def shutdown(self) -> None:
        if self._loop is None:
            return
        if self._gateway is not None:
            try:
                self._run("closing the client", lambda: self._gateway.close())
            except EngineUnavailable as exc:
                self.log.warning("%s", exc)
            self._gateway = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None
