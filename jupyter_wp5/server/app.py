"""The jupyter-wp5 server extension: configuration, services and routes."""

from __future__ import annotations

import os

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, Type

from ..communities import AccessService, Communities
from ..communities.ledger import AccessLedger
from ..compute.manager import ClusterManager
from ..data.catalog import RucioCatalog
from ..data.details import deep_event
from ..data.fileset import FilesetService
from ..data.replicas import ReplicaService
from .events import EventHub
from .handlers import ROUTES
from .services import Services

API_PREFIX = "wp5/api"

# Kernels started by this server find it through these variables (see jupyter_wp5.kernel.client).
URL_ENV = "JUPYTER_WP5_URL"
TOKEN_ENV = "JUPYTER_WP5_TOKEN"


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
        help=f"Export this server's URL and token as ${URL_ENV} and ${TOKEN_ENV} to the kernels "
        "it starts, so %%wp5 and jupyter_wp5.* talk to the same services as the panel.",
    )

    classes = [Communities, AccessLedger]

    def initialize_settings(self) -> None:
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
        self._env_before = {name: os.environ.get(name) for name in (URL_ENV, TOKEN_ENV)}
        self._export_to_kernels()

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            (url_path_join("/", API_PREFIX, path), handler) for path, handler in ROUTES
        )

    async def _start_jupyter_server_extension(self, serverapp: object) -> None:
        # The port is final only once the server is listening (it may have moved off a busy one).
        self._export_to_kernels()

    async def stop_extension(self) -> None:
        self.services.close()
        # Leave the process as we found it (matters when servers come and go, as in tests).
        for name, value in self._env_before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _export_to_kernels(self) -> None:
        if not self.export_to_kernels:
            return
        os.environ[URL_ENV] = self.serverapp.connection_url
        os.environ[TOKEN_ENV] = self.serverapp.identity_provider.token or ""
