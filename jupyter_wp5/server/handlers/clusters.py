"""Compute endpoints: profiles and Dask clusters. Each verb parses, makes one manager call and
serialises the record; errors are mapped once, in the base handler."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...models import ClusterRequest, ClusterSize
from .base import Wp5Handler


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


class ClusterHandler(Wp5Handler):
    """GET, PATCH {workers | adaptive}, DELETE clusters/{id}"""

    @web.authenticated
    @authorized
    async def get(self, cluster_id: str) -> None:
        info = await self.services.clusters.get(cluster_id)
        self.write_json(info.to_dict())

    @web.authenticated
    @authorized
    async def patch(self, cluster_id: str) -> None:
        size = ClusterSize.parse(self.json_body())
        info = await self.services.clusters.resize(cluster_id, size)
        self.write_json(info.to_dict())

    @web.authenticated
    @authorized
    async def delete(self, cluster_id: str) -> None:
        await self.services.clusters.close(cluster_id)
        self.write_no_content()
