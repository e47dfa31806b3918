"""schemathesis over every operation of openapi.yaml, against a real Jupyter server with the
playground's Rucio: valid and invalid requests alike, a fixed seed and example budget, and not one
server error, undocumented status or response outside its schema."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_wp5.contract import SPEC_PATH

pytestmark = [pytest.mark.rucio, pytest.mark.timeout(240)]

# Bounded so the run stays within about a minute on a shared CI machine.
EXAMPLES_PER_OPERATION = 25
SEED = 20261202


@pytest.fixture
def jp_server_config(jp_server_config: Config, tmp_path: Path) -> Config:
    jp_server_config.DownloadManager.scratch_dir = str(tmp_path / "scratch")
    jp_server_config.RequestStore.path = str(tmp_path / "requests.sqlite")
    return jp_server_config


async def test_no_generated_request_gets_a_server_error(jp_serverapp, http_server, tmp_path):
    st = Path(sys.executable).with_name("st")
    process = await asyncio.create_subprocess_exec(
        str(st),
        "run",
        str(SPEC_PATH),
        "--url",
        jp_serverapp.connection_url.rstrip("/") + "/wp5/api",
        "--header",
        f"Authorization: token {jp_serverapp.identity_provider.token}",
        "--checks",
        "not_a_server_error,status_code_conformance,response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        # The websocket is checked by tests/api/test_events_ws.py; over HTTP it is only a 400.
        "--exclude-path",
        "/events",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    # The server runs on this event loop: wait without blocking it.
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-8000:]
    assert "No issues found" in text or "passed" in text, text[-4000:]
