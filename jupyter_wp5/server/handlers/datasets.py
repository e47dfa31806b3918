"""Catalogue endpoints: search, describe a DID, list its files, its coffea fileset.

A DID travels as the ``did`` query parameter (``?did=cms:/DY.../NANOAODSIM``), never in the path:
Rucio names may hold ``/`` and CMS block names ``#`` (docs/architecture.md says why).
"""

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...models import DID, SearchQuery
from .base import Wp5Handler


class _DidHandler(Wp5Handler):
    """A handler about one DID, named by the ``did`` query parameter."""

    def query_did(self) -> DID:
        return DID.parse(self.get_query_argument("did", ""))


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


class DatasetHandler(_DidHandler):
    """GET datasets/details?did=&deep="""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        details = await self.services.catalog.describe(
            self.query_did(), deep=self.query_bool("deep")
        )
        self.write_json(details.to_dict())


class DatasetFilesHandler(_DidHandler):
    """GET datasets/files?did=&rse=&limit=&cursor="""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        page = await self.services.catalog.files(
            self.query_did(),
            rse=self.query_str("rse"),
            limit=self.query_int("limit", 100),
            cursor=self.query_str("cursor"),
            user=self.user_key,
        )
        self.write_json(page.to_dict())


class DatasetFilesetHandler(_DidHandler):
    """GET datasets/fileset?did=&rse=&protocol=&allow_partial="""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        fileset = await self.services.filesets.fileset(
            self.query_did(),
            rse=self.query_str("rse") or "",
            protocol=self.query_str("protocol"),
            allow_partial=self.query_bool("allow_partial"),
        )
        self.write_json(fileset.to_dict())
