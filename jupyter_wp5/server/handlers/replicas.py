"""Replica endpoints: request a copy (a Rucio rule), list, follow and cancel requests."""

from collections.abc import Awaitable
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...models import ReplicaProgress, ReplicaRequest, ReplicaUpdate
from .base import RecordHandler, Wp5Handler


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


class ReplicaHandler(RecordHandler):
    """GET replicas/{id} (progress), PATCH replicas/{id} {lifetime, retry}, DELETE replicas/{id}
    (cancel: removes the rule)"""

    def read(self, record_id: str) -> Awaitable[ReplicaProgress]:
        return self.services.replicas.get(record_id)

    def change(self, record_id: str, body: Any) -> Awaitable[ReplicaProgress]:
        return self.services.replicas.update(record_id, ReplicaUpdate.from_dict(body))

    def remove(self, record_id: str) -> Awaitable[None]:
        return self.services.replicas.cancel(record_id)
