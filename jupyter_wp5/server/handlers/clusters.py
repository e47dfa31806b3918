"""Compute endpoints: profiles and Dask clusters. Each verb parses, makes one manager call and
serialises the record; errors are mapped once, in the base handler."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...models import ClusterInfo, ClusterRequest, ClusterSize
from .base import RecordHandler, Wp5Handler


class ProfilesHandler(Wp5Handler):
    """GET profiles"""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_items(await self.services.clusters.profiles())


class ClustersHandler(Wp5Handler):
    """GET clusters; POST clusters {profile, workers | adaptive {minimum, maximum}, name?}"""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_items(await self.services.clusters.list())

    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = ClusterRequest.from_dict(self.json_body())
        self.write_created(await self.services.clusters.create(req.profile, req.size, req.name))


class ClusterHandler(RecordHandler):
    """GET, PATCH {workers | adaptive}, DELETE clusters/{id}"""

    def read(self, record_id: str) -> Awaitable[ClusterInfo]:
        return self.services.clusters.get(record_id)

    def change(self, record_id: str, body: Any) -> Awaitable[ClusterInfo]:
        return self.services.clusters.resize(record_id, ClusterSize.parse(body))

    def remove(self, record_id: str) -> Awaitable[None]:
        return self.services.clusters.close(record_id)
