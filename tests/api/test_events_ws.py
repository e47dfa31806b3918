"""The events websocket: a new request's progress is pushed to listeners; it opens with a token
(header or query) or the login cookie, never without one or from a foreign page."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import psutil
import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_wp5.contract import validate_event

from ..processes import listening_on
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
            validate_event(message)
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


async def read_until(ws, wanted, timeout: float = 10):
    """The first message for which ``wanted(message)`` holds, within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        raw = await asyncio.wait_for(ws.read_message(), max(0.1, deadline - loop.time()))
        message = json.loads(raw)
        if wanted(message):
            return message


# Expressions that all select SITE-A alone. Rucio refuses a duplicate of a rule (same account,
# DID, expression) for a while after it was cancelled, so a re-run takes the next one.
SITE_A = ("rse=SITE-A", "SITE-A|SITE-A", "SITE-A&SITE-A", "SITE-A\\SITE-B", "SITE-A\\SITE-C")


async def request_at_site_a(jp_fetch, did: str) -> dict:
    """A new rule for ``did`` at SITE-A, which already holds its data."""
    for expression in SITE_A:
        status, made = await call(
            jp_fetch, "POST", "replicas", {"did": did, "rse_expression": expression}
        )
        if status == 201:
            return made
        assert status == 409 and "duplicate" in made["message"].lower(), made
    raise AssertionError("every SITE-A expression has a rule still being removed; retry later")


async def test_a_copy_complete_from_the_start_is_pushed(jp_fetch, jp_ws_fetch, playground):
    # The data are already at the origin site: the rule is OK at once and never "moves", so only
    # the publication of the new request itself can tell the panels.
    ws = await jp_ws_fetch("wp5", "api", "events")
    made = await request_at_site_a(jp_fetch, DATASET)
    try:
        assert made["state"] == "OK"
        message = await read_until(
            ws, lambda m: m["type"] == "replica" and m["data"]["id"] == made["id"], timeout=5
        )
        assert message["data"]["state"] == "OK"
        assert message["data"]["rse_expression"] == made["rse_expression"]
    finally:
        ws.close()
        await call(jp_fetch, "DELETE", f"replicas/{made['id']}")


async def test_cluster_changes_are_pushed(jp_fetch, jp_ws_fetch):
    ws = await jp_ws_fetch("wp5", "api", "events")
    try:
        status, made = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 1})
        assert status == 201

        def about(status: str):
            return lambda m: (
                m["type"] == "cluster"
                and m["data"]["id"] == made["id"]
                and m["data"]["status"] == status
            )

        # Announced at once; the worker's arrival, if later, comes with the live-size poll.
        started = await read_until(ws, lambda m: about("running")(m) and m["data"]["workers"] == 1)
        assert started["data"]["profile"] == "cpu"
        status, _ = await call(jp_fetch, "PATCH", f"clusters/{made['id']}", {"workers": 2})
        assert status == 200
        grown = await read_until(ws, lambda m: about("running")(m) and m["data"]["workers"] == 2)
        assert grown["data"]["name"] == made["name"]
        status, _ = await call(jp_fetch, "DELETE", f"clusters/{made['id']}")
        assert status == 204
        closed = await read_until(ws, about("closed"))
        assert closed["data"]["name"] == made["name"]
    finally:
        ws.close()


async def test_a_cluster_whose_process_died_is_pushed_as_lost(jp_fetch, jp_ws_fetch):
    ws = await jp_ws_fetch("wp5", "api", "events")
    status, made = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 1})
    assert status == 201
    try:
        # The cluster's process serves its scheduler (the spare one beside it waits, unlistened).
        runner = listening_on(made["scheduler_address"])
        assert runner in runner_pids()
        psutil.Process(runner).kill()
        # Nobody asked for anything: the hub's poll of the live state tells the panels.
        lost = await read_until(
            ws,
            lambda m: (
                m["type"] == "cluster"
                and m["data"]["id"] == made["id"]
                and m["data"]["status"] == "lost"
            ),
        )
        assert lost["data"]["name"] == made["name"]
    finally:
        ws.close()
        await call(jp_fetch, "DELETE", f"clusters/{made['id']}")


def runner_pids() -> set[int]:
    """The local backend's cluster processes (``_local_runner.py``) among our children."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if any(arg.endswith("_local_runner.py") for arg in child.cmdline()):
                found.add(child.pid)
        except psutil.Error:
            pass
    return found


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
