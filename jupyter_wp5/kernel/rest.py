"""The REST transport: the services of the Jupyter server that started this kernel, over
``/wp5/api`` (the single source of truth; see ``jupyter_wp5/openapi.yaml``).

One small class per service, with the services' own method names; :class:`Http` sends a request
and turns an error answer back into the typed error the server raised.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import requests

from ..models import (
    DID,
    ClusterInfo,
    ClusterSize,
    Conflict,
    DatasetDetails,
    EngineRefused,
    EngineUnavailable,
    FilePage,
    Fileset,
    Health,
    InvalidRequest,
    NotFound,
    ProfileInfo,
    ReplicaProgress,
    ReplicaRequest,
    ReplicaUpdate,
    SearchPage,
    SearchQuery,
    StorageElement,
    Wp5Error,
    error_from_dict,
)

API_PREFIX = "wp5/api/"
# Set (to 1) to check every request and answer against openapi.yaml, as the test suite does.
CHECK_CONTRACT_ENV = "JUPYTER_WP5_CHECK_CONTRACT"

# A server that is not ours (a proxy, tornado's own 404) answers without our error body; map the
# status to the nearest typed error so callers can still catch NotFound and friends.
_ERROR_BY_STATUS: dict[int, type[Wp5Error]] = {
    400: InvalidRequest,
    404: NotFound,
    409: Conflict,
    502: EngineRefused,
    503: EngineUnavailable,
}


class Http:
    """One ``requests`` session to a Jupyter server's ``/wp5/api``.

    With ``check_contract`` (default: the ``JUPYTER_WP5_CHECK_CONTRACT`` environment variable),
    every exchange is checked against openapi.yaml and a breach raises
    :class:`~jupyter_wp5.contract.ContractError`: the kernel side of the contract tests.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        session: requests.Session | None = None,
        check_contract: bool | None = None,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        if check_contract is None:
            check_contract = os.environ.get(CHECK_CONTRACT_ENV, "") not in ("", "0")
        self.check_contract = check_contract
        self.session = session or requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"
        self.session.headers["Accept"] = "application/json"

    def __call__(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send one request and return its JSON, raising the typed error the server sent;
        ``timeout`` replaces :attr:`timeout` for this request."""
        url = self.url + API_PREFIX + path
        timeout = timeout or self.timeout
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=body,
                timeout=(self.connect_timeout, timeout),
            )
        except requests.ConnectionError:
            raise EngineUnavailable(
                f"cannot reach the Jupyter server at {self.url}; it may have stopped "
                "(restart JupyterLab and the kernel)"
            ) from None
        except requests.Timeout:
            raise EngineUnavailable(
                f"the Jupyter server at {self.url} did not answer within {timeout:g} s"
            ) from None
        if self.check_contract:
            self.check(method, path, params or {}, response)
        if response.status_code >= 400:
            raise self.error(response)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise Wp5Error(f"the Jupyter server answered {url} with something not JSON") from None

    @staticmethod
    def check(method: str, path: str, params: dict[str, Any], response: requests.Response) -> None:
        """Check one exchange against openapi.yaml (``contract.check_exchange``)."""
        # Imported here: the schema validator costs a kernel's start time only when asked for.
        from .. import contract

        try:
            answer = response.json() if response.content else contract.NO_BODY
        except ValueError:
            raise contract.ContractError(
                f"{method} {path} answered {response.status_code} with something not JSON"
            ) from None
        contract.check_exchange(
            method,
            path,
            {k: str(v) for k, v in params.items()},
            response.request.body.encode()
            if isinstance(response.request.body, str)
            else response.request.body,
            response.status_code,
            answer,
        )

    def error(self, response: requests.Response) -> Wp5Error:
        """The typed error an error answer stands for."""
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("error"):
            return error_from_dict(payload, status)
        reason = payload.get("message") if isinstance(payload, dict) else None
        if status == 401:
            return EngineRefused(
                f"the Jupyter server at {self.url} did not accept this kernel's token"
            )
        if status == 403:
            return EngineRefused(
                f"the Jupyter server at {self.url} does not allow this: {reason or 'forbidden'}"
            )
        if status == 404 and not reason:
            reason = "the jupyter_wp5 server extension is not enabled on that server"
        cls = _ERROR_BY_STATUS.get(status, Wp5Error)
        return cls(f"HTTP {status} from {response.url}: {reason or response.reason}")

    def items(self, path: str) -> list[dict[str, Any]]:
        """The ``items`` of a list answer."""
        return self("GET", path)["items"]


def segment(text: str) -> str:
    """One path segment, quoted whole."""
    return quote(text, safe="")


def _cursor(cursor: str | None) -> str | None:
    return cursor.encode() if cursor else None


class RestCatalog:
    def __init__(self, http: Http) -> None:
        self.http = http

    def search(self, query: SearchQuery, limit: int, cursor: str | None) -> SearchPage:
        params = {
            "q": str(query),
            "type": query.type.value,
            "filters": ",".join(f"{k}{op}{v}" for k, op, v in query.filters) or None,
            "limit": limit,
            "cursor": cursor,
        }
        return SearchPage.from_dict(self.http("GET", "datasets", params))

    def describe(self, did: DID) -> DatasetDetails:
        return DatasetDetails.from_dict(self.http("GET", "datasets/details", {"did": str(did)}))

    def files(self, did: DID, rse: str | None, limit: int, cursor: str | None) -> FilePage:
        params = {"did": str(did), "rse": rse, "limit": limit, "cursor": cursor}
        return FilePage.from_dict(self.http("GET", "datasets/files", params))

    def rses(self) -> list[StorageElement]:
        return [StorageElement.from_dict(r) for r in self.http.items("rses")]


class RestFilesets:
    def __init__(self, http: Http) -> None:
        self.http = http

    def fileset(self, did: DID, rse: str, protocol: str | None, allow_partial: bool) -> Fileset:
        params = {
            "did": str(did),
            "rse": rse,
            "protocol": protocol,
            "allow_partial": "true" if allow_partial else None,
        }
        return Fileset.from_dict(self.http("GET", "datasets/fileset", params))


class _Collection:
    """A REST collection of records (``replicas``, ``clusters``), each at ``<path>/<id>``."""

    path: str
    record: type[ReplicaProgress] | type[ClusterInfo]

    def __init__(self, http: Http) -> None:
        self.http = http

    def _all(self) -> list[Any]:
        return [self.record.from_dict(r) for r in self.http.items(self.path)]

    def _new(self, body: dict[str, Any], timeout: float | None = None) -> Any:
        return self.record.from_dict(self.http("POST", self.path, body=body, timeout=timeout))

    def _one(
        self,
        method: str,
        item_id: str,
        body: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        answer = self.http(method, f"{self.path}/{segment(item_id)}", body=body, timeout=timeout)
        return None if answer is None else self.record.from_dict(answer)


class RestReplicas(_Collection):
    path, record = "replicas", ReplicaProgress

    def request(self, req: ReplicaRequest) -> ReplicaProgress:
        return self._new(req.to_dict())

    def list(self) -> list[ReplicaProgress]:
        return self._all()

    def get(self, request_id: str) -> ReplicaProgress:
        return self._one("GET", request_id)

    def update(self, request_id: str, change: ReplicaUpdate) -> ReplicaProgress:
        return self._one("PATCH", request_id, change.to_dict())

    def cancel(self, request_id: str) -> None:
        self._one("DELETE", request_id)


# Starting or resizing a cluster is answered by the server's own deadline
# (ClusterManager.start_timeout plus close_grace, or its timeout): the kernel waits for that
# answer instead of giving up first while the cluster still starts.
CLUSTER_WAIT = 900.0


class RestClusters(_Collection):
    path, record = "clusters", ClusterInfo

    def profiles(self) -> list[ProfileInfo]:
        return [ProfileInfo.from_dict(p) for p in self.http.items("profiles")]

    def create(self, profile: str, size: ClusterSize, name: str | None = None) -> ClusterInfo:
        body: dict[str, Any] = {"profile": profile, **size.to_dict()}
        if name is not None:
            body["name"] = name
        return self._new(body, timeout=CLUSTER_WAIT)

    def list(self) -> list[ClusterInfo]:
        return self._all()

    def get(self, cluster_id: str) -> ClusterInfo:
        return self._one("GET", cluster_id)

    def resize(self, cluster_id: str, size: ClusterSize) -> ClusterInfo:
        return self._one("PATCH", cluster_id, size.to_dict(), timeout=CLUSTER_WAIT)

    def close(self, cluster_id: str) -> None:
        self._one("DELETE", cluster_id)


class RestCommunities:
    def __init__(self, http: Http) -> None:
        self.http = http

    def all(self) -> list[dict[str, Any]]:
        return self.http.items("access/communities")


class RestAccess:
    path = "access/requests"

    def __init__(self, http: Http) -> None:
        self.http = http
        self.communities = RestCommunities(http)

    def overview(self) -> dict[str, Any]:
        return self.http("GET", self.path)

    def request(self, did: DID, purpose: str) -> dict[str, Any]:
        return self.http("POST", self.path, body={"did": str(did), "purpose": purpose})

    def get(self, request_id: str) -> dict[str, Any]:
        return self.http("GET", f"{self.path}/{segment(request_id)}")

    def grant(self, request_id: str, expires: str, rses: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"expires": expires}
        if rses:
            body["rses"] = rses
        return self._decide(request_id, "grant", body)

    def deny(self, request_id: str, reason: str = "") -> dict[str, Any]:
        return self._decide(request_id, "deny", {"reason": reason} if reason else {})

    def revoke(self, request_id: str, reason: str = "") -> dict[str, Any]:
        return self._decide(request_id, "revoke", {"reason": reason} if reason else {})

    def checkpoint(self) -> dict[str, Any]:
        return self.http("GET", "access/ledger/checkpoint")

    def receipt(self, index: int) -> dict[str, Any]:
        return self.http("GET", f"access/ledger/receipts/{int(index)}")

    def record_run(self, run: dict[str, Any]) -> int | None:
        return self.http("POST", "access/ledger/runs", body=run)["ledger_index"]

    def _decide(self, request_id: str, decision: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.http("POST", f"{self.path}/{segment(request_id)}/{decision}", body=body)


class RestTransport:
    """Talk to the ``/wp5/api`` REST API of a running Jupyter server.

    Parameters
    ----------
    url
        The server's base URL, e.g. ``http://127.0.0.1:8888/``.
    token
        Its token (from the server's runtime file in a kernel it started).
    timeout, connect_timeout
        Seconds to wait for an answer, and for the connection.
    check_contract
        Check every exchange against openapi.yaml (see :class:`Http`).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        session: requests.Session | None = None,
        check_contract: bool | None = None,
    ) -> None:
        self.http = Http(url, token, timeout, connect_timeout, session, check_contract)
        self.catalog = RestCatalog(self.http)
        self.filesets = RestFilesets(self.http)
        self.replicas = RestReplicas(self.http)
        self.clusters = RestClusters(self.http)
        self.access = RestAccess(self.http)

    def health(self) -> Health:
        return Health.from_dict(self.http("GET", "health"))

    def describe_location(self) -> str:
        return f"Jupyter server at {self.http.url}"

    def close(self) -> None:
        self.http.session.close()
