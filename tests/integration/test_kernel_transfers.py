"""``%wp5 replicate --download --wait`` and ``jupyter_wp5.fileset`` in a real ipykernel, through a
real Jupyter server, over the playground's Rucio and XRootD storage (download mode needs no
transfer daemons)."""

from __future__ import annotations

import ast
import getpass
import zlib
from pathlib import Path

import pytest
from traitlets.config import Config

from .test_kernel_magics import run_notebook

pytestmark = pytest.mark.rucio

DY = "cms:DYJetsToLL_M-50_NanoAODv9"
TT = "cms:TTTo2L2Nu_NanoAODv9"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return tmp_path / "scratch"


@pytest.fixture
def jp_server_config(jp_server_config: Config, scratch: Path) -> Config:
    jp_server_config.DownloadManager.scratch_dir = str(scratch)
    return jp_server_config


async def test_download_and_wait_then_read_a_fileset_in_a_kernel(
    playground, jp_serverapp, http_server, scratch: Path, tmp_path: Path
) -> None:
    tt, dy = playground.dataset(TT), playground.dataset(DY)
    load, replicate, transfers, read = await run_notebook(
        tmp_path,
        "%load_ext jupyter_wp5",
        f"done = %wp5 replicate {TT} --download --wait\ndone[0].state, len(done[0].paths)",
        "%wp5 transfers",
        "import jupyter_wp5, uproot\n"
        f"fs = jupyter_wp5.fileset({DY!r}, rse='SITE-B', protocol='root')\n"
        "sorted((url.rsplit('/', 1)[-1], uproot.open(url)[tree].num_entries)"
        " for e in fs.values() for url, tree in e['files'].items())",
    )
    for cell in (load, replicate, transfers, read):
        assert not cell.errors, cell.text
        assert "wp5:" not in cell.stderr, cell.stderr
    assert f"('OK', {len(tt.files)})" in replicate.text
    target = scratch / getpass.getuser() / tt.scope / tt.name
    for f in tt.files:
        data = (target / f.name).read_bytes()
        assert f"{zlib.adler32(data) & 0xFFFFFFFF:08x}" == f.adler32.zfill(8)
    assert TT in transfers.text and "download" in transfers.text
    assert ast.literal_eval(read.text) == sorted((f.name, f.events) for f in dy.files)


async def test_a_cms_block_downloads_from_a_kernel(
    playground, jp_serverapp, http_server, scratch: Path, tmp_path: Path
) -> None:
    # '/' segments, a leading '/' and a '#' in the DID, as typed in the magic.
    block = next(d for d in playground.datasets if d.name.startswith("/"))
    _, replicate = await run_notebook(
        tmp_path,
        "%load_ext jupyter_wp5",
        f"done = %wp5 replicate {block.did} --download --wait\ndone[0].state, done[0].paths",
    )
    assert not replicate.errors and "wp5:" not in replicate.stderr, replicate.text
    assert "('OK'," in replicate.text, replicate.text
    inside = (scratch / getpass.getuser() / block.scope).resolve()
    inside = inside.joinpath(*block.name.removeprefix("/").split("/"))
    for f in block.files:
        assert repr(str(inside / f.name)) in replicate.text
        data = (inside / f.name).read_bytes()
        assert f"{zlib.adler32(data) & 0xFFFFFFFF:08x}" == f.adler32.zfill(8)
