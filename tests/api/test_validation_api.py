"""Bad input is a 400 (or 413) before any engine call, never a 500 or a 502.

These servers have no Rucio at all (a request that reached it would be a 503), except the last
tests, which need the playground's to count its storage elements. Every exchange also goes through
the contract wrapper (tests/api/conftest.py): the contract and the server agree on what is refused.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from .contract import call

RULE = "0123456789abcdef0123456789abcdef"
DEEP = "[" * 50_000 + "]" * 50_000


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest) -> Config:
    # No Rucio unless the test is marked rucio: a request past validation would answer 503.
    rucio_config = "/nonexistent/rucio.cfg"
    if request.node.get_closest_marker("rucio"):
        rucio_config = str(request.getfixturevalue("playground").rucio_config)
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_wp5": True}},
            "RucioConnection": {"rucio_config": rucio_config, "timeout": 5.0},
        }
    )


async def send(jp_fetch: Any, method: str, path: str, body: str, **headers: str):
    try:
        response = await jp_fetch("wp5", "api", path, method=method, body=body, headers=headers)
    except HTTPClientError as err:
        assert err.response is not None, err
        response = err.response
    return response.code, json.loads(response.body)


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "replicas"),
        ("PATCH", f"replicas/{RULE}"),
        ("POST", "clusters"),
        ("PATCH", "clusters/abc"),
    ],
)
async def test_a_body_nested_50000_deep_is_a_400(jp_fetch, method, path):
    status, payload = await send(jp_fetch, method, path, DEEP)
    assert (status, payload["error"]) == (400, "invalid_request"), payload
    assert "nested deeper" in payload["message"]


async def test_a_body_beyond_the_size_limit_is_a_413(jp_fetch):
    body = json.dumps({"did": "cms:x", "rse_expression": "SITE-B", "comment": "c" * 100_000})
    status, payload = await send(jp_fetch, "POST", "replicas", body)
    assert (status, payload["error"]) == (413, "payload_too_large"), payload


async def test_without_a_token_bad_input_is_still_a_403(jp_fetch):
    status, payload = await send(jp_fetch, "POST", "replicas", DEEP, Authorization="token wrong")
    assert status == 403, payload


@pytest.mark.parametrize(
    "raw", ['{"o": 1e400}', '{"o": 9223372036854775808}', '{"o": -1}', '{"o": "1"}', "[1]"]
)
@pytest.mark.parametrize("path", ["datasets", "datasets/files"])
async def test_cursors_out_of_bounds_are_a_400(jp_fetch, raw, path):
    params = {"q": "cms:*"} if path == "datasets" else {"did": "cms:DY"}
    status, payload = await call(jp_fetch, "GET", path, cursor=cursor(raw), **params)
    assert (status, payload["error"]) == (400, "invalid_request"), payload
    assert "cursor" in payload["message"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"did": "cms:x", "rse_expression": "SITE-B", "lifetime": "99999999999999w"}, "lifetime"),
        ({"did": "cms:x", "rse_expression": "SITE-B", "lifetime": "366d"}, "longer than"),
        ({"did": "cms:x", "rse_expression": "SITE-B", "comment": "c" * 1000}, "comment"),
        ({"did": "cms:x", "rse_expression": "A|" * 1000}, "rse_expression"),
        ({"did": "cms:x", "rse_expression": "SITE-B", "copies": 1000}, "copies"),
        ({"did": "cms:a/../b", "rse_expression": "SITE-B"}, "did"),
        ({"did": "cms:a//b", "rse_expression": "SITE-B"}, "did"),
        ({"did": "cms:a/", "mode": "download"}, "did"),
        ({"did": "cms:x", "rse_expression": "SITE-B", "account": "root"}, "account"),
    ],
)
async def test_bad_copy_requests_are_a_400_before_rucio(jp_fetch, body, reason):
    status, payload = await call(jp_fetch, "POST", "replicas", body)
    code = "invalid_did" if reason == "did" else "invalid_request"
    assert (status, payload["error"]) == (400, code), payload
    assert reason in payload["message"]


async def test_extending_beyond_the_longest_lifetime_is_a_400(jp_fetch):
    status, payload = await call(jp_fetch, "PATCH", f"replicas/{RULE}", {"lifetime": "53w"})
    assert (status, payload["error"]) == (400, "invalid_request"), payload
    assert "longer than this server allows" in payload["message"]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"q": "cms:*DY*", "filters": "name=secret*"}, "in q"),
        ({"q": "cms:*", "filters": "no_such_key=1"}, "not a metadata key"),
        ({"q": "cms:*", "filters": "events>inf"}, "whole number"),
        ({"q": "cms:*", "filters": "campaign>1e999"}, "finite"),
        ({"q": "cms:" + "x" * 100_00}, "longer than"),
        ({"q": "cms:*", "limit": "99999999999999999999999"}, "whole number"),
    ],
)
async def test_bad_searches_are_a_400_before_rucio(jp_fetch, params, reason):
    status, payload = await call(jp_fetch, "GET", "datasets", **params)
    assert (status, payload["error"]) == (400, "invalid_request"), payload
    assert reason in payload["message"]


@pytest.mark.parametrize(
    "name",
    ["a/../b", "a//b", "a/./b/files", "a/", "/", "//DY/Run3", "/DY/../NANOAODSIM", "/DY/Run3/"],
)
@pytest.mark.parametrize("path", ["datasets/details", "datasets/files", "datasets/fileset"])
async def test_dot_and_empty_segments_are_a_400(jp_fetch, path, name):
    # Rucio is absent here (see the control below): a 400 is answered before any Rucio call.
    status, payload = await call(jp_fetch, "GET", path, did=f"cms:{name}", rse="SITE-A")
    assert (status, payload["error"]) == (400, "invalid_did"), payload


async def test_a_valid_request_does_reach_the_engine(jp_fetch):
    # The control: the same server answers a well-formed search from Rucio, here absent (503).
    status, payload = await call(jp_fetch, "GET", "datasets", q="cms:*", filters="events>1")
    assert status == 503, payload
    # A CMS name (leading '/', '#' before the block id) is well formed: it reaches Rucio too.
    block = "cms:/DYJetsToMuMu_M-50/Run3Summer22NanoAODv12-130X/NANOAODSIM#a1b2"
    status, payload = await call(jp_fetch, "GET", "datasets/details", did=block)
    assert status == 503, payload


@pytest.mark.rucio
async def test_more_copies_than_storage_elements_is_a_400(jp_fetch):
    body = {"did": "cms:TTTo2L2Nu_NanoAODv9", "rse_expression": "SITE-B", "copies": 2}
    status, payload = await call(jp_fetch, "POST", "replicas", body)
    assert (status, payload["error"]) == (400, "invalid_request"), payload
    assert "selects 1 storage element" in payload["message"]
