"""The data endpoints (datasets, replicas, events) refuse users the authorizer does not allow
(403 with the JSON error body), before anything reaches Rucio or is created."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from ..rucio_admin import admin_client
from .contract import call

pytestmark = pytest.mark.rucio


class DenyWp5(Authorizer):
    """Allows everything but the wp5 resource."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return resource != "wp5"


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.ServerApp.authorizer_class = DenyWp5
    return jp_server_config


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "datasets?q=cms:*", None),
        ("GET", "datasets/details?did=cms:DYJetsToLL_M-50_NanoAODv9", None),
        ("GET", "datasets/files?did=cms:DYJetsToLL_M-50_NanoAODv9", None),
        ("GET", "replicas", None),
        ("POST", "replicas", {"did": "cms:WJetsToLNu_NanoAODv9", "rse_expression": "SITE-C"}),
        ("GET", "replicas/0123456789abcdef0123456789abcdef", None),
        ("PATCH", "replicas/0123456789abcdef0123456789abcdef", {"retry": True}),
        ("DELETE", "replicas/0123456789abcdef0123456789abcdef", None),
    ],
)
async def test_data_endpoints_are_forbidden_without_the_wp5_permission(
    jp_fetch, playground, method, path, body
):
    admin = admin_client(playground)
    rules_before = {r["id"] for r in admin.list_replication_rules({"account": playground.account})}
    path, _, query = path.partition("?")
    params = dict(p.split("=") for p in query.split("&")) if query else {}
    status, payload = await call(jp_fetch, method, path, body, **params)
    assert status == 403 and payload["error"] == "forbidden", payload
    rules_after = {r["id"] for r in admin.list_replication_rules({"account": playground.account})}
    assert rules_after == rules_before


async def test_events_socket_is_forbidden_without_the_wp5_permission(jp_ws_fetch):
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("wp5", "api", "events")
    assert refused.value.code == 403
