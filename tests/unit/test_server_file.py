"""The runtime file through which a kernel finds the server that started it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import psutil

from jupyter_wp5.kernel.client import Wp5Client
from jupyter_wp5.kernel.rest import RestTransport
from jupyter_wp5.server_file import find_server, server_file, write_server_file


def test_the_file_is_private_and_found_from_a_descendant(tmp_path):
    path = write_server_file("http://127.0.0.1:1/base/", "s3cret", tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # This process wrote it; a process it starts (a kernel) finds it among its ancestors.
    code = f"from jupyter_wp5.server_file import find_server; print(find_server({str(tmp_path)!r}))"
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "('http://127.0.0.1:1/base/', 's3cret')"


def test_the_nearest_server_wins_and_a_reused_pid_is_ignored(tmp_path):
    parent = psutil.Process().parent()
    assert parent is not None
    path = server_file(parent.pid, tmp_path)
    path.write_text(json.dumps({"url": "http://127.0.0.1:2/", "token": "t"}))
    assert find_server(tmp_path) == ("http://127.0.0.1:2/", "t")
    # A file older than the process holding that pid was left by a dead server.
    older = parent.create_time() - 10
    os.utime(path, (older, older))
    assert find_server(tmp_path) is None


def test_from_env_prefers_a_url_the_user_set(tmp_path):
    parent = psutil.Process().parent()
    server_file(parent.pid, tmp_path).write_text(json.dumps({"url": "http://127.0.0.1:2/"}))
    env = {"JUPYTER_RUNTIME_DIR": str(tmp_path)}
    found = Wp5Client.from_env(env).transport
    assert isinstance(found, RestTransport) and found.http.url == "http://127.0.0.1:2/"
    by_hand = Wp5Client.from_env({**env, "JUPYTER_WP5_URL": "http://h:1/"}).transport
    assert isinstance(by_hand, RestTransport) and by_hand.http.url == "http://h:1/"
