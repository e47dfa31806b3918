"""Coffea filesets from Rucio's replica URLs: every URL opens with uproot and holds the events the
playground wrote; an incomplete copy is refused with 409 unless the caller allows a partial one."""

from __future__ import annotations

import pytest

from ..rucio_admin import admin_client, assert_absent_at
from .contract import call

pytestmark = pytest.mark.rucio

DY = "cms:DYJetsToLL_M-50_NanoAODv9"
CONTAINER = "cms:Run3Summer22_NanoAODv9"


def events_by_url(entry: dict) -> dict[str, int]:
    import uproot

    counts = {}
    for url, tree in entry["files"].items():
        with uproot.open(url) as f:
            counts[url] = f[tree].num_entries
    return counts


@pytest.mark.parametrize("rse", ["SITE-A", "SITE-B"])
async def test_fileset_urls_open_with_uproot_and_hold_the_seeded_events(jp_fetch, playground, rse):
    dy = playground.dataset(DY)
    assert rse in dy.rses
    status, fileset = await call(
        jp_fetch, "GET", "datasets/fileset", did=DY, rse=rse, protocol="root"
    )
    assert status == 200, fileset
    assert list(fileset) == [dy.name]
    entry = fileset[dy.name]
    meta = entry["metadata"]
    assert meta["did"] == DY and meta["rse"] == rse and meta["complete"]
    assert meta["files"] == meta["files_total"] == len(dy.files)
    assert meta["bytes"] == dy.bytes
    assert meta["events"] == dy.events
    assert all(url.startswith("root://") for url in entry["files"])
    counts = events_by_url(entry)
    # Each URL is the seeded file of the same name, with its event count.
    expected = {f.name: f.events for f in dy.files}
    assert {url.rsplit("/", 1)[-1]: n for url, n in counts.items()} == expected


async def test_container_fileset_has_one_entry_per_dataset(jp_fetch, playground):
    members = playground.containers[CONTAINER]
    status, fileset = await call(jp_fetch, "GET", "datasets/fileset", did=CONTAINER, rse="SITE-A")
    assert status == 200, fileset
    assert sorted(e["metadata"]["did"] for e in fileset.values()) == sorted(members)
    for entry in fileset.values():
        seeded = playground.dataset(entry["metadata"]["did"])
        assert len(entry["files"]) == len(seeded.files)


async def test_incomplete_copy_is_409_unless_partial_is_allowed(jp_fetch, playground):
    wjets = playground.dataset("cms:WJetsToLNu_NanoAODv9")
    assert "SITE-C" not in wjets.rses
    # Not even a copy another test left behind.
    await assert_absent_at(admin_client(playground), wjets.did, "SITE-C")
    status, body = await call(jp_fetch, "GET", "datasets/fileset", did=wjets.did, rse="SITE-C")
    assert status == 409
    assert f"0 of {len(wjets.files)} files" in body["message"]

    status, partial = await call(
        jp_fetch, "GET", "datasets/fileset", did=wjets.did, rse="SITE-C", allow_partial="true"
    )
    assert status == 200
    meta = partial[wjets.name]["metadata"]
    assert (meta["files"], meta["files_total"], meta["complete"]) == (0, len(wjets.files), False)


async def test_bad_fileset_requests(jp_fetch):
    cases = [
        ({}, 400),  # no rse
        ({"rse": "SITE-Z"}, 400),  # Rucio: no such RSE expression
        ({"rse": "SITE-A", "allow_partial": "maybe"}, 400),
    ]
    for params, expected in cases:
        status, body = await call(jp_fetch, "GET", "datasets/fileset", did=DY, **params)
        assert status == expected, (params, body)
    status, _ = await call(
        jp_fetch, "GET", "datasets/fileset", did="cms:NoSuchDataset_v1", rse="SITE-A"
    )
    assert status == 404
