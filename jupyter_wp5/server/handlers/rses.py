"""GET /wp5/api/rses: the storage elements and the user's quota on each."""

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import Wp5Handler


class StorageElementsHandler(Wp5Handler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        rses = await self.services.catalog.rses()
        self.write_items(rses)
