"""GET /wp5/api/health: our version and which engines answer."""

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import __version__
from ...models import Health
from .base import Wp5Handler


class HealthHandler(Wp5Handler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        rucio = await self.services.catalog.status()
        self.write_json(Health(version=__version__, engines=[rucio]).to_dict())
