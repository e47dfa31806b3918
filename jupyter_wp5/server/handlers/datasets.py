"""Catalogue endpoints: search, describe a DID, list its files, its coffea fileset."""

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...models import DID, SearchQuery
from .base import Wp5Handler


class DatasetSearchHandler(Wp5Handler):
    """GET datasets?q=scope:pattern&type=&filters=&limit=&cursor="""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = SearchQuery.parse(
            self.get_query_argument("q", ""),
            type=self.query_str("type"),
            filters=self.query_str("filters"),
        )
        page = await self.services.catalog.search(
            query,
            limit=self.query_int("limit", 100),
            cursor=self.query_str("cursor"),
            user=self.user_key,
        )
        self.write_json(page.to_dict())


class DatasetHandler(Wp5Handler):
    """GET datasets/{scope}/{name}?deep="""

    @web.authenticated
    @authorized
    async def get(self, scope: str, name: str) -> None:
        details = await self.services.catalog.describe(
            DID.of(scope, name), deep=self.query_bool("deep")
        )
        self.write_json(details.to_dict())


class DatasetFilesHandler(Wp5Handler):
    """GET datasets/{scope}/{name}/files?rse=&limit=&cursor="""

    @web.authenticated
    @authorized
    async def get(self, scope: str, name: str) -> None:
        page = await self.services.catalog.files(
            DID.of(scope, name),
            rse=self.query_str("rse"),
            limit=self.query_int("limit", 100),
            cursor=self.query_str("cursor"),
            user=self.user_key,
        )
        self.write_json(page.to_dict())


class DatasetFilesetHandler(Wp5Handler):
    """GET datasets/{scope}/{name}/fileset?rse=&protocol=&allow_partial="""

    @web.authenticated
    @authorized
    async def get(self, scope: str, name: str) -> None:
        fileset = await self.services.filesets.fileset(
            DID.of(scope, name),
            rse=self.query_str("rse") or "",
            protocol=self.query_str("protocol"),
            allow_partial=self.query_bool("allow_partial"),
        )
        self.write_json(fileset.to_dict())
