"""The jupyter-wp5 server extension: configuration, services and routes."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, List, Type, Unicode

from ..communities import AccessService, Communities
from ..communities.ledger import AccessLedger
from ..compute.backends.gateway import GatewayBackend
from ..compute.manager import ClusterManager
from ..data.catalog import RucioCatalog
from ..data.details import deep_event
from ..data.fileset import FilesetService
from ..data.replicas import ReplicaService
from ..server_file import write_server_file
from .events import EventHub
from .handlers import ROUTES
from .services import Services

API_PREFIX = "wp5/api"


class Wp5App(ExtensionApp):
    """Serves /wp5/api for the Lab panel and the kernels' magics and Python API."""

    name = "jupyter_wp5"

    catalog_class = Type(
        default_value=RucioCatalog,
        klass=RucioCatalog,
        config=True,
        help="The catalogue implementation (a RucioCatalog subclass).",
    )
    cluster_manager_class = Type(
        default_value=ClusterManager,
        klass=ClusterManager,
        config=True,
        help="The Dask cluster manager (a ClusterManager subclass); each profile names its "
        "backend (ClusterManager.backend_classes).",
    )
    export_to_kernels = Bool(
        True,
        config=True,
        help="Write this server's URL and token to a 0600 file in the Jupyter runtime directory "
        "(wp5-server-<pid>.json), where the kernels it starts find it, so %%wp5 and "
        "jupyter_wp5.* talk to the same services as the panel.",
    )
    private_environment = List(
        Unicode(),
        ["JUPYTER_TOKEN", "JUPYTER_WP5_TOKEN", "WP5_GATEWAY_PASSWORD"],
        config=True,
        help="Variables removed from this server's environment once read, so that no kernel, "
        "terminal, local Dask worker or batch job inherits them.",
    )

    freeze_at_start = Bool(
        True,
        config=True,
        help="Once the server has started, collect garbage and then exempt everything it "
        "loaded (modules, jupyter_server, rucio-clients, Dask...) from Python's cyclic garbage "
        "collector (gc.freeze). Otherwise each full collection walks those objects again: a "
        "pause of about 100 ms of the event loop, for every request waiting on it, a few times "
        "a minute under load.",
    )

    classes = [Communities, AccessLedger]

    def initialize_settings(self) -> None:
        self._take_private_environment()
        catalog = self.catalog_class(parent=self, log=self.log)
        replicas = ReplicaService(catalog.connection, parent=self, log=self.log)
        clusters = self.cluster_manager_class(
            base_url=self.serverapp.base_url, parent=self, log=self.log
        )
        self.services = Services(
            catalog=catalog,
            replicas=replicas,
            clusters=clusters,
            filesets=FilesetService(catalog.connection, parent=self, log=self.log),
            events=EventHub(replicas, clusters, parent=self, log=self.log),
            access=AccessService(
                catalog.connection,
                Communities(parent=self, log=self.log),
                AccessLedger(parent=self, log=self.log),
                parent=self,
                log=self.log,
            ),
        )
        # Exact (?deep=1) counts report their progress as "details" events.
        catalog.details.listeners.append(
            lambda count, exact: self.services.events.publish("details", deep_event(count, exact))
        )
        self.settings["wp5_services"] = self.services
        self._server_file: Path | None = None
        self._export_to_kernels()

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            (url_path_join("/", API_PREFIX, path), handler) for path, handler in ROUTES
        )

    async def _start_jupyter_server_extension(self, serverapp: object) -> None:
        # The port is final only once the server is listening (it may have moved off a busy one).
        self._export_to_kernels()
        # Downloads a stopped server left unfinished go on by themselves, in the background.
        self.services.replicas.resume_downloads()
        if self.freeze_at_start:
            gc.collect()
            gc.freeze()

    async def stop_extension(self) -> None:
        if self.freeze_at_start:
            gc.unfreeze()  # what the server held may now be collected
        self.services.close()
        if self._server_file is not None:
            self._server_file.unlink(missing_ok=True)

    def _take_private_environment(self) -> None:
        # Read what needs these variables first: the server's token and the gateway's password
        # are read lazily, from the environment, by default.
        _ = self.serverapp.identity_provider.token
        GatewayBackend.take_password_from_environ(self.config)
        for name in self.private_environment:
            os.environ.pop(name, None)

    def _export_to_kernels(self) -> None:
        if not self.export_to_kernels:
            return
        self._server_file = write_server_file(
            self.serverapp.connection_url,
            self.serverapp.identity_provider.token or "",
            self.serverapp.runtime_dir,
        )
