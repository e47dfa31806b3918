"""Replica endpoints: request a copy (a Rucio rule), list, follow and cancel requests."""

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...models import ReplicaRequest, ReplicaUpdate
from .base import Wp5Handler


class ReplicasHandler(Wp5Handler):
    """GET replicas (the user's requests), POST replicas {did, rse_expression, ...}"""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_items(await self.services.replicas.list())

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = ReplicaRequest.from_dict(self.json_body())
        self.write_created(await self.services.replicas.request(request))


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
        self.write_no_content()
