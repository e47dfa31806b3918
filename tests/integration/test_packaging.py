"""The package installs as a Jupyter user expects: prebuilt lab extension, server extension on."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def jupyter(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, check=True
    )
    # Jupyter colours "enabled" and "OK" even when not writing to a terminal.
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


def test_server_and_lab_extensions_are_enabled_and_ok():
    servers = jupyter("server", "extension", "list")
    assert re.search(r"^\s*jupyter_wp5 enabled$", servers, re.MULTILINE), servers
    # The validation line of our extension itself (every extension gets one: "<name> <ver> OK").
    assert re.search(r"^\s*jupyter_wp5 \S+ OK$", servers, re.MULTILINE), servers
    labs = jupyter("labextension", "list")
    line = next(ln for ln in labs.splitlines() if "jupyter-wp5" in ln)
    assert "enabled" in line and "OK" in line


@pytest.mark.timeout(600)
def test_wheel_carries_the_prebuilt_extension_and_server_config(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    wheel = next(tmp_path.glob("jupyter_wp5-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    data = next(n.split("/")[0] for n in names if ".data/" in n)
    assert f"{data}/data/share/jupyter/labextensions/jupyter-wp5/package.json" in names
    assert f"{data}/data/etc/jupyter/jupyter_server_config.d/jupyter_wp5.json" in names
    assert any(
        n.startswith(f"{data}/data/share/jupyter/labextensions/jupyter-wp5/static/") for n in names
    )
    assert "jupyter_wp5/openapi.yaml" in names
    # The demo notebooks are package data (`jupyter wp5 demos`, the playground's lab).
    assert "jupyter_wp5/demos/01-dimuon-z-peak.ipynb" in names
