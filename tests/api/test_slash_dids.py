"""A CMS block (a name with a leading '/', '/' segments and a '#') on every REST surface, against
the playground's real Rucio, storage and transfer daemons: search, details, files, fileset, a copy
to SITE-B that reaches OK, and a download into scratch."""

from __future__ import annotations

import getpass
import zlib
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_wp5.playground.seed import CMS_BLOCK

from ..rucio_admin import admin_client, discard
from .contract import call, finished

pytestmark = pytest.mark.rucio

BLOCK = f"{CMS_BLOCK.scope}:{CMS_BLOCK.name}"


@pytest.fixture
def jp_server_config(jp_server_config: Config, tmp_path: Path) -> Config:
    # This test's own scratch directory and request store.
    jp_server_config.DownloadManager.scratch_dir = str(tmp_path / "scratch")
    jp_server_config.RequestStore.path = str(tmp_path / "requests.sqlite")
    return jp_server_config


async def test_search_details_files_and_fileset_of_a_cms_block(jp_fetch, playground):
    block = playground.dataset(BLOCK)
    assert "/" in block.name[1:] and block.name.startswith("/") and "#" in block.name

    for q in (f"{CMS_BLOCK.scope}:*", f"{CMS_BLOCK.scope}:/DYJetsToMuMu*"):
        status, found = await call(jp_fetch, "GET", "datasets", q=q, type="dataset")
        assert status == 200, found
        assert [i["did"] for i in found["items"]] == [BLOCK], q

    status, details = await call(jp_fetch, "GET", "datasets/details", did=BLOCK)
    assert status == 200, details
    assert (details["did"], details["name"]) == (BLOCK, block.name)
    assert (details["files"], details["bytes"]) == (len(block.files), block.bytes)
    assert {c["rse"] for c in details["copies"]} >= set(block.rses)

    status, files = await call(jp_fetch, "GET", "datasets/files", did=BLOCK, limit="1")
    assert status == 200, files
    _, rest = await call(jp_fetch, "GET", "datasets/files", did=BLOCK, cursor=files["next_cursor"])
    listed = {f["name"]: f for f in files["items"] + rest["items"]}
    assert {n: f["adler32"] for n, f in listed.items()} == {f.name: f.adler32 for f in block.files}

    (origin,) = block.rses
    status, fileset = await call(jp_fetch, "GET", "datasets/fileset", did=BLOCK, rse=origin)
    assert status == 200, fileset
    assert list(fileset) == [block.name]
    (entry,) = fileset.values()
    assert entry["metadata"]["did"] == BLOCK
    assert sorted(url.rsplit("/", 1)[1] for url in entry["files"]) == sorted(
        f.name for f in block.files
    )


async def test_a_cms_block_is_copied_to_another_site(jp_fetch, playground):
    block = playground.dataset(BLOCK)
    body = {"did": BLOCK, "rse_expression": "SITE-B", "lifetime": "1d"}
    status, made = await call(jp_fetch, "POST", "replicas", body)
    assert status == 201, made
    try:
        assert made["did"] == BLOCK
        done = await finished(jp_fetch, made["id"], timeout=120)
        assert done["state"] == "OK", done
        assert done["files_ok"] == len(block.files)
        _, details = await call(jp_fetch, "GET", "datasets/details", did=BLOCK)
        site_b = next(c for c in details["copies"] if c["rse"] == "SITE-B")
        assert site_b["available_files"] == len(block.files)
    finally:
        discard(admin_client(playground), made["id"])


async def test_a_cms_block_downloads_under_the_users_scope_directory(
    jp_fetch, playground, tmp_path
):
    block = playground.dataset(BLOCK)
    status, made = await call(jp_fetch, "POST", "replicas", {"did": BLOCK, "mode": "download"})
    assert status == 201, made
    done = await finished(jp_fetch, made["id"])
    assert done["state"] == "OK", done["error"]
    # The leading '/' does not make the path absolute: it stays under <scratch>/<user>/<scope>.
    target = (tmp_path / "scratch").resolve() / getpass.getuser() / CMS_BLOCK.scope
    target = target.joinpath(*block.name.removeprefix("/").split("/"))
    assert sorted(Path(p) for p in done["paths"]) == sorted(target / f.name for f in block.files)
    for f in block.files:
        data = (target / f.name).read_bytes()
        assert f"{zlib.adler32(data) & 0xFFFFFFFF:08x}" == f.adler32.zfill(8)
