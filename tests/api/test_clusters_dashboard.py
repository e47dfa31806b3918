"""A local cluster's dashboard through the Jupyter server's own route, under a base URL as
JupyterHub gives one: the link the REST API hands out opens the real Bokeh dashboard (its page and
its live websocket), only with the server's credentials, and only for this server's clusters. The
dashboard itself listens on loopback only, and no generic proxy is needed."""

from __future__ import annotations

import json
import re

import psutil
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect
from traitlets.config import Config

from .contract import call

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def jp_base_url() -> str:
    return "/user/alice/"


@pytest.fixture
def jp_server_config() -> Config:
    # No Rucio needed, and no jupyter-server-proxy.
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}}})


def _listening_addresses(port: int) -> set[str]:
    return {
        c.laddr.ip
        for c in psutil.net_connections("inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }


async def test_dashboard_opens_through_the_owners_server_only(
    jp_fetch, jp_base_url, jp_serverapp, jp_auth_header
):
    status, info = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 1})
    assert status == 201, info
    try:
        link = info["dashboard_link"]
        route = f"{jp_base_url}wp5/api/clusters/{info['id']}/dashboard/"
        assert link == route + "status", link
        parts = link.removeprefix(jp_base_url).split("/")
        response = await jp_fetch(*parts, method="GET")
        assert response.code == 200
        page = response.body.decode()
        assert "bokeh" in page.lower()

        # The dashboard listens on loopback only.
        port = jp_serverapp.web_app.settings["wp5_services"].clusters
        port = await port.dashboard_port(info["id"])
        assert _listening_addresses(port) == {"127.0.0.1"}

        # Its live updates come through the same route (Bokeh's session token as subprotocol).
        token = re.search(r'\\"token\\":\\"([^\\"]+)\\"|"token":\s*"([^"]+)"', page)
        assert token, page[:500]
        ws_url = jp_serverapp.connection_url.replace("http", "ws", 1)
        ws_url = ws_url.rstrip("/") + route.removeprefix(jp_base_url.rstrip("/")) + "status/ws"
        socket = await websocket_connect(
            HTTPRequest(ws_url, headers=jp_auth_header),
            subprotocols=["bokeh", token.group(1) or token.group(2)],
        )
        try:
            first = await socket.read_message()
            assert first is not None and "ACK" in str(first)
        finally:
            socket.close()

        # Without the token the route is closed like every other Jupyter page (to the login).
        with pytest.raises(HTTPClientError) as refused:
            await jp_fetch(
                *parts, method="GET", headers={"Authorization": ""}, follow_redirects=False
            )
        assert refused.value.code in (302, 403)
        # A cluster that is not this server's: 404 before any connection.
        with pytest.raises(HTTPClientError) as unknown:
            await jp_fetch("wp5", "api", "clusters", "not-mine", "dashboard", "status")
        assert unknown.value.code == 404
        assert json.loads(unknown.value.response.body)["error"] == "not_found"
    finally:
        status, _ = await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
        assert status == 204
