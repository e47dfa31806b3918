"""The events websocket: a new request's progress is pushed to listeners; no token, no socket."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_wp5.contract import validate_event

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
