"""GET /wp5/api/health: our version and which engines answer."""

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import Wp5Handler


class HealthHandler(Wp5Handler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json((await self.services.health()).to_dict())
