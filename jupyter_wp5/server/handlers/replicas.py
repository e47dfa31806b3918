"""Replica endpoints: request a copy (a Rucio rule), list, follow and cancel requests."""

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ...models import ReplicaMode, ReplicaRequest, ReplicaUpdate
from .base import Wp5Handler


class ReplicasHandler(Wp5Handler):
    """GET replicas (the user's requests), POST replicas {did, rse_expression, ...}"""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        items = await self.services.replicas.list()
        self.write_json({"items": [i.to_dict() for i in items]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = ReplicaRequest.from_dict(self.json_body())
        if request.mode is ReplicaMode.DOWNLOAD:
            # Rucio cannot see reads from storage: the grant check for downloads is ours.
            await self.services.access.check_download(request.did)
        progress = await self.services.replicas.request(request)
        if progress.mode == ReplicaMode.RULE.value:
            await self.services.access.rule_created(
                progress.id, request.did, request.rse_expression
            )
        self.set_header("Location", url_path_join(self.request.path, progress.id))
        self.write_json(progress.to_dict(), status=201)


class ReplicaHandler(Wp5Handler):
    """GET replicas/{id} (progress), PATCH replicas/{id} {lifetime, retry}, DELETE replicas/{id}
    (cancel: removes the rule)"""

    @web.authenticated
    @authorized
    async def get(self, rule_id: str) -> None:
        progress = await self.services.replicas.get(rule_id)
        self.write_json(progress.to_dict())

    @web.authenticated
    @authorized
    async def patch(self, rule_id: str) -> None:
        change = ReplicaUpdate.from_dict(self.json_body())
        progress = await self.services.replicas.update(rule_id, change)
        self.write_json(progress.to_dict())

    @web.authenticated
    @authorized
    async def delete(self, rule_id: str) -> None:
        await self.services.replicas.cancel(rule_id)
        self.set_status(204)
        self.finish()
