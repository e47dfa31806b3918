"""Access endpoints: ask for access to a community's data; stewards grant, deny and revoke."""

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ...models import DID, InvalidRequest
from .base import Wp5Handler


def _fields(body: Any, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    unknown = set(body) - allowed
    if unknown:
        raise InvalidRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    missing = required - set(body)
    if missing:
        raise InvalidRequest(f"missing fields: {', '.join(sorted(missing))}")
    for key, value in body.items():
        if key == "rses":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidRequest("rses must be a list of storage element names")
        elif not isinstance(value, str):
            raise InvalidRequest(f"{key} must be a string")
    return body


class CommunitiesHandler(Wp5Handler):
    """GET access/communities: the configured communities."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        items = self.services.access.communities.all()
        self.write_json({"items": [c.to_dict() for c in items]})


class AccessRequestsHandler(Wp5Handler):
    """GET access/requests (mine, and those on the scopes I steward), POST {did, purpose}."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.services.access.overview())

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = _fields(self.json_body(), {"did", "purpose"}, {"did", "purpose"})
        outcome = await self.services.access.request(DID.parse(body["did"]), body["purpose"])
        self.set_header("Location", url_path_join(self.request.path, outcome.record.id))
        self.write_json(outcome.to_dict(), status=201)


class AccessRequestHandler(Wp5Handler):
    """GET access/requests/{id}"""

    @web.authenticated
    @authorized
    async def get(self, request_id: str) -> None:
        record = await self.services.access.get(request_id)
        self.write_json(record.to_dict())


class AccessDecisionHandler(Wp5Handler):
    """POST access/requests/{id}/{grant|deny|revoke}: a steward's decision."""

    @web.authenticated
    @authorized
    async def post(self, request_id: str, decision: str) -> None:
        access = self.services.access
        if decision == "grant":
            body = _fields(self.json_body(), {"expires", "rses"}, {"expires"})
            outcome = await access.grant(request_id, body["expires"], body.get("rses"))
        else:
            body = _fields(self.json_body(), {"reason"})
            decide = access.deny if decision == "deny" else access.revoke
            outcome = await decide(request_id, body.get("reason", ""))
        self.write_json(outcome.to_dict())


class LedgerCheckpointHandler(Wp5Handler):
    """GET access/ledger/checkpoint: the latest cosigned checkpoint and the verifier keys."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.services.access.checkpoint())


class LedgerReceiptHandler(Wp5Handler):
    """GET access/ledger/receipts/{index}: the receipt of one ledger entry."""

    @web.authenticated
    @authorized
    async def get(self, index: str) -> None:
        self.write_json(await self.services.access.receipt(int(index)))


class LedgerRunsHandler(Wp5Handler):
    """POST access/ledger/runs {inputs, code_sha256, env_lock_sha256, output_sha256}: record an
    analysis run (what ``jupyter_wp5.run`` reports when it ends) as this server's account."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        names = {"inputs", "code_sha256", "env_lock_sha256", "output_sha256"}
        if not isinstance(body, dict) or set(body) != names:
            raise InvalidRequest(f"the body must be a JSON object with exactly {sorted(names)}")
        if not isinstance(body["inputs"], list):
            raise InvalidRequest("inputs must be a list of {did, adler32} objects")
        index = await self.services.access.analysis_run(
            body["inputs"], body["code_sha256"], body["env_lock_sha256"], body["output_sha256"]
        )
        self.write_json({"ledger_index": index}, status=201)
