"""The events websocket: a new request's progress is pushed to listeners; it opens with a token
(header or query) or the login cookie, never without one or from a foreign page."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from .contract import call

pytestmark = pytest.mark.rucio

DATASET = "cms:TTTo2L2Nu_NanoAODv9"


@pytest.fixture
def jp_server_config(jp_server_config: Config, tmp_path: Path) -> Config:
    jp_server_config.DownloadManager.scratch_dir = str(tmp_path / "scratch")
    jp_server_config.EventHub.interval = 0.2
    return jp_server_config


async def test_a_new_requests_progress_is_pushed(jp_fetch, jp_ws_fetch, playground):
    ws = await jp_ws_fetch("wp5", "api", "events")
    try:
        status, made = await call(
            jp_fetch, "POST", "replicas", {"did": DATASET, "mode": "download"}
        )
        assert status == 201
        seen = []
        while not seen or seen[-1]["state"] != "OK":
            message = json.loads(await asyncio.wait_for(ws.read_message(), 30))
            assert message["type"] == "replica"
            if message["data"]["id"] == made["id"]:
                seen.append(message["data"])
        n = len(playground.dataset(DATASET).files)
        assert (seen[-1]["files_ok"], seen[-1]["files_total"]) == (n, n)
        # Each message is a change: no state is pushed twice in a row.
        assert all(a != b for a, b in itertools.pairwise(seen))
    finally:
        ws.close()


async def test_events_need_a_token(jp_ws_fetch):
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("wp5", "api", "events", headers={"Authorization": "token wrong"})
    assert refused.value.code == 403


async def test_events_with_the_token_in_the_query(jp_ws_fetch, jp_serverapp):
    token = jp_serverapp.identity_provider.token
    ws = await jp_ws_fetch(
        "wp5", "api", "events", headers={"Authorization": ""}, params={"token": token}
    )
    ws.close()
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch(
            "wp5", "api", "events", headers={"Authorization": ""}, params={"token": "wrong"}
        )
    assert refused.value.code == 403


async def login_cookies(jp_serverapp, jp_http_port: int, jp_base_url: str) -> tuple[str, str]:
    """Log in on Jupyter's login page with the token, as a browser does on the host the socket
    tests use (the cookie's name carries the host); return (the _xsrf cookie, all cookies)."""
    from tornado.httpclient import AsyncHTTPClient

    url = f"http://localhost:{jp_http_port}{jp_base_url}login"
    page = await AsyncHTTPClient().fetch(url, raise_error=False)
    xsrf = next(
        c.split(";")[0] for c in page.headers.get_list("Set-Cookie") if c.startswith("_xsrf=")
    )
    login = await AsyncHTTPClient().fetch(
        url,
        method="POST",
        body=f"{xsrf}&password={jp_serverapp.identity_provider.token}",
        headers={"Cookie": xsrf},
        follow_redirects=False,
        raise_error=False,
    )
    assert login.code == 302, login.body
    cookies = "; ".join(c.split(";")[0] for c in login.headers.get_list("Set-Cookie"))
    assert f"username-localhost-{jp_http_port}" in cookies, cookies
    return xsrf, cookies


async def test_events_with_the_login_cookie(jp_ws_fetch, jp_serverapp, jp_http_port, jp_base_url):
    """The browser's path: log in with the token on the login page, then the socket carries only
    the cookie Jupyter set."""
    xsrf, cookies = await login_cookies(jp_serverapp, jp_http_port, jp_base_url)
    ws = await jp_ws_fetch("wp5", "api", "events", headers={"Authorization": "", "Cookie": cookies})
    ws.close()
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("wp5", "api", "events", headers={"Authorization": "", "Cookie": xsrf})
    assert refused.value.code == 403


async def test_events_refuse_a_foreign_page_with_the_cookie(
    jp_ws_fetch, jp_serverapp, jp_http_port, jp_base_url
):
    """A page on another site cannot open the socket with the user's login cookie (the browser
    would send it along); the same cookie from the server's own origin can."""
    _, cookies = await login_cookies(jp_serverapp, jp_http_port, jp_base_url)
    own = {"Authorization": "", "Cookie": cookies, "Origin": f"http://localhost:{jp_http_port}"}
    ws = await jp_ws_fetch("wp5", "api", "events", headers=own)
    ws.close()
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("wp5", "api", "events", headers={**own, "Origin": "https://evil.example"})
    assert refused.value.code == 403
