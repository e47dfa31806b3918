"""The in-process transport: the server's own services, run in this process where no Jupyter
server exists (plain IPython, papermill, batch jobs), configured like rucio-clients
(``RUCIO_CONFIG``).

It knows no operation by name: each service object is wrapped whole, and any of its coroutine
methods runs on a private event loop thread. An endpoint added to a service is here at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from ..models import EngineUnavailable, Health, Wp5Error

if TYPE_CHECKING:
    from traitlets.config import Config

    from ..communities import AccessService
    from ..data.catalog import RucioCatalog
    from ..models import DID
    from ..server.services import Services

T = TypeVar("T")


class _LoopThread:
    """An event loop on a private daemon thread.

    Inside a kernel the main thread already runs ipykernel's loop, where ``asyncio.run`` fails and
    waiting on it would deadlock; the services' coroutines run here instead.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="wp5-client", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure())
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise EngineUnavailable(f"no answer within {timeout:g} s") from None

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()


class _Blocking:
    """One service seen synchronously: ``proxy.get(x)`` runs ``service.get(x)`` on the loop."""

    def __init__(self, transport: InProcessTransport, name: str) -> None:
        self._transport = transport
        self._name = name

    def __getattr__(self, method: str) -> Callable[..., Any]:
        target = getattr(getattr(self._transport.services, self._name), method)
        if not inspect.iscoroutinefunction(target):
            raise AttributeError(f"{self._name}.{method} is not a service operation")

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._transport.run(target(*args, **kwargs))

        return call


class _Communities:
    def __init__(self, access: _Access) -> None:
        self._access = access

    def all(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self._access.service.communities.all()]


class _Access:
    """``access`` in this process: the service's records as the REST API's JSON, so that both
    transports answer alike."""

    def __init__(self, transport: InProcessTransport) -> None:
        self._transport = transport
        self.communities = _Communities(self)

    @property
    def service(self) -> AccessService:
        service = self._transport.services.access
        if service is None:
            raise EngineUnavailable("no access service in this process")
        return service

    def overview(self) -> dict[str, Any]:
        return self._transport.run(self.service.overview())

    def request(self, did: DID, purpose: str) -> dict[str, Any]:
        return self._transport.run(self.service.request(did, purpose)).to_dict()

    def get(self, request_id: str) -> dict[str, Any]:
        return self._transport.run(self.service.get(request_id)).to_dict()

    def grant(self, request_id: str, expires: str, rses: list[str] | None = None) -> dict[str, Any]:
        return self._transport.run(self.service.grant(request_id, expires, rses)).to_dict()

    def deny(self, request_id: str, reason: str = "") -> dict[str, Any]:
        return self._transport.run(self.service.deny(request_id, reason)).to_dict()

    def revoke(self, request_id: str, reason: str = "") -> dict[str, Any]:
        return self._transport.run(self.service.revoke(request_id, reason)).to_dict()

    def checkpoint(self) -> dict[str, Any]:
        return self._transport.run(self.service.checkpoint())

    def receipt(self, index: int) -> dict[str, Any]:
        return self._transport.run(self.service.receipt(index))

    def record_run(self, run: dict[str, Any]) -> int | None:
        return self._transport.run(self.service.analysis_run(**run))


class InProcessTransport:
    """The services in this process, made on first use (importing the API never needs Rucio).

    Parameters
    ----------
    catalog
        A ready catalogue; by default a ``RucioCatalog()`` from the user's ``rucio.cfg``.
    config
        Configuration of the access service's ``Communities`` and ``AccessLedger`` (as a Jupyter
        server's); without it no community is known and no ledger is written.
    timeout
        Seconds to wait for one call; the services have their own, shorter, per-call deadlines.
    """

    def __init__(
        self,
        catalog: RucioCatalog | None = None,
        timeout: float = 120.0,
        config: Config | None = None,
    ) -> None:
        self._catalog = catalog
        self._config = config
        self._services: Services | None = None
        self._made = threading.Lock()
        self.timeout = timeout
        self._loop = _LoopThread()
        self.catalog = _Blocking(self, "catalog")
        self.filesets = _Blocking(self, "filesets")
        self.replicas = _Blocking(self, "replicas")
        self.clusters = _Blocking(self, "clusters")
        self.access = _Access(self)

    @property
    def services(self) -> Services:
        """The server's services, without the server: no HTTP, no events, nothing recorded."""
        with self._made:
            if self._services is None:
                self._services = _make_services(self._catalog, self._config)
            return self._services

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one of the services' coroutines to its end, from any thread."""
        return self._loop.run(coro, self.timeout)

    def health(self) -> Health:
        return self.run(self.services.health())

    def describe_location(self) -> str:
        return "Rucio, in-process (no Jupyter server started this kernel)"

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
        self._loop.close()


def _make_services(catalog: RucioCatalog | None, config: Config | None) -> Services:
    from ..communities import AccessService, Communities
    from ..communities.ledger import AccessLedger
    from ..compute.manager import ClusterManager
    from ..data.catalog import RucioCatalog
    from ..data.fileset import FilesetService
    from ..data.replicas import ReplicaService
    from ..server.services import Services

    if catalog is None:
        try:
            catalog = RucioCatalog()
        except Wp5Error:
            raise
        except Exception as exc:
            # Without a server the user's rucio.cfg is all we have; say so, with the cause.
            raise EngineUnavailable(
                "no Jupyter server started this kernel and Rucio could not be set up "
                f"in-process: {exc}"
            ) from exc
    return Services(
        catalog=catalog,
        replicas=ReplicaService(catalog.connection),
        # Unrecorded: the server's records are the server's; and with no server to proxy the
        # dashboard, link to it directly. These clusters end with the process.
        clusters=ClusterManager(records_path="", proxied=False),
        filesets=FilesetService(catalog.connection),
        access=AccessService(
            catalog.connection, Communities(config=config), AccessLedger(config=config)
        ),
    )
