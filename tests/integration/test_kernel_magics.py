"""``%wp5`` in a real ipykernel, talking to a real Jupyter server with the extension, over the
playground's real Rucio.

The server runs in this test process (``jp_serverapp`` + ``http_server``) and writes its runtime
file (``wp5-server-<pid>.json``), where the kernel nbclient starts finds it. The tests are
coroutines so that the server keeps answering while the kernel runs the notebook.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_wp5.kernel.display import format_bytes
from jupyter_wp5.server_file import server_file

pytestmark = pytest.mark.rucio

DY = "cms:DYJetsToLL_M-50_NanoAODv9"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _text(output: dict[str, Any]) -> str:
    if output["output_type"] == "stream":
        return output["text"]
    if output["output_type"] == "error":
        return "\n".join([f"{output['ename']}: {output['evalue']}", *output["traceback"]])
    return output.get("data", {}).get("text/plain", "")


class Cell:
    """What one executed cell printed, split the way a reader sees it."""

    def __init__(self, cell: Any) -> None:
        outputs = cell["outputs"]
        self.errors = [o for o in outputs if o["output_type"] == "error"]
        self.stderr = ANSI.sub("", "".join(o["text"] for o in outputs if o.get("name") == "stderr"))
        self.text = ANSI.sub("", "\n".join(_text(o) for o in outputs))
        self.html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)


async def run_notebook(tmp_path: Path, *sources: str) -> list[Cell]:
    """Execute the cells in a fresh python3 kernel; return what each cell showed."""
    assert server_file(os.getpid()).exists(), "the server extension wrote no runtime file"
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nbformat.validate(nb)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        startup_timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    await client.async_execute()
    return [Cell(c) for c in nb.cells]


async def test_search_and_info_in_a_real_kernel(
    playground, jp_serverapp, http_server, tmp_path: Path
) -> None:
    dy = playground.dataset(DY)
    cms = [d for d in playground.datasets if d.scope == "cms"]

    load, transport, search, info, rse_list, files, health = await run_notebook(
        tmp_path,
        "%load_ext jupyter_wp5",
        "import jupyter_wp5.api\ntype(jupyter_wp5.api.get_client().transport).__name__",
        "%wp5 search cms:*",
        f"%wp5 info {DY}",
        "%wp5 rses",
        f"%wp5 files {DY}",
        "%wp5 health",
    )

    for cell in (load, transport, search, info, rse_list, files, health):
        assert not cell.errors, cell.text
        assert "Traceback" not in cell.text
        assert "wp5:" not in cell.stderr, cell.stderr  # no error line either
    # The kernel went through the server, not the in-process fallback.
    assert "'RestTransport'" in transport.text

    assert cms
    for d in cms:
        assert d.did in search.text
    assert "results for cms:*" in search.text
    assert "<table>" in search.html

    assert DY in info.text
    assert f"{format_bytes(dy.bytes)} in {len(dy.files)} files" in info.text
    # Each site holding a full copy is listed with all files and 100% available.
    copies = info.text.split("copies", 1)[1].split("rules", 1)[0]
    assert dy.rses
    for rse in dy.rses:
        row = next((line for line in copies.splitlines() if line.startswith(rse)), "")
        assert f"{len(dy.files)}/{len(dy.files)}" in row and row.endswith("100%"), copies

    for rse in playground.rses:
        assert rse in rse_list.text

    assert f"{len(dy.files)} files of {DY}" in files.text
    for f in dy.files:
        row = next((line for line in files.text.splitlines() if line.startswith(f.name)), "")
        assert f.adler32 in row, files.text
        for rse in dy.rses:  # (other tests may have added copies elsewhere)
            assert f"{rse}: AVAILABLE" in row, row

    assert f"via Jupyter server at {jp_serverapp.connection_url}" in health.text
    rucio = next((line for line in health.text.splitlines() if line.startswith("rucio ")), "")
    assert rucio.split()[1] == "yes", health.text
    assert playground.account in rucio.split() and playground.rucio_url in rucio.split(), rucio


async def test_a_cms_block_name_in_the_magics(
    playground, jp_serverapp, http_server, tmp_path: Path
) -> None:
    # '/' segments, a leading '/' and a '#': through the REST transport as one query parameter.
    block = next(d for d in playground.datasets if d.name.startswith("/"))
    _, info, files, fileset = await run_notebook(
        tmp_path,
        "%load_ext jupyter_wp5",
        f"%wp5 info {block.did}",
        f"%wp5 files {block.did}",
        f"fs = %wp5 fileset {block.did} --rse {block.rses[0]}\nsorted(fs)",
    )
    for cell in (info, files, fileset):
        assert not cell.errors, cell.text
        assert "wp5:" not in cell.stderr, cell.stderr
    assert f"{format_bytes(block.bytes)} in {len(block.files)} files" in info.text
    assert f"{len(block.files)} files of {block.did}" in files.text
    for f in block.files:
        assert f.name in files.text
    assert repr([block.name]) in fileset.text


async def test_unknown_dataset_is_one_readable_line(
    playground, jp_serverapp, http_server, tmp_path: Path
) -> None:
    _, missing, malformed = await run_notebook(
        tmp_path,
        "%load_ext jupyter_wp5",
        "%wp5 info cms:NoSuchDataset_v0",
        "%wp5 info no-scope-here",
    )
    for cell, needle in ((missing, "NoSuchDataset_v0"), (malformed, "no-scope-here")):
        assert not cell.errors, cell.text
        assert "Traceback" not in cell.text
        lines = [line for line in cell.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, cell.stderr
        assert lines[0].startswith("wp5: ")
        assert needle in lines[0]
