"""The catalogue endpoints against the playground's real Rucio server, through Jupyter's auth."""

from __future__ import annotations

import json
import uuid

import pytest

from ..rucio_admin import admin_client, discard, replayed
from .contract import call

pytestmark = pytest.mark.rucio


async def get(jp_fetch, path: str, **params):
    return await call(jp_fetch, "GET", path, **params)


def seeded(playground, scope: str):
    return {d.did: d for d in playground.datasets if d.scope == scope}


async def test_search_with_wildcard_returns_the_seeded_datasets_and_only_them(jp_fetch, playground):
    status, body = await get(jp_fetch, "datasets", q="cms:*", type="dataset")
    assert status == 200
    assert {i["did"] for i in body["items"]} == set(seeded(playground, "cms"))
    assert body["next_cursor"] is None
    for item in body["items"]:
        expected = seeded(playground, "cms")[item["did"]]
        assert item["type"] == "dataset"
        assert item["files"] == len(expected.files)
        assert item["bytes"] == expected.bytes

    status, body = await get(jp_fetch, "datasets", q="cms:*DY*", type="dataset")
    assert [i["name"] for i in body["items"]] == ["DYJetsToLL_M-50_NanoAODv9"]

    status, body = await get(jp_fetch, "datasets", q="space:*debris*", type="all")
    names = {i["did"] for i in body["items"] if i["type"] == "dataset"}
    assert names == set(seeded(playground, "space"))


async def test_search_pages_follow_the_cursor_without_gaps_or_repeats(jp_fetch, playground):
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"q": "cms:*", "type": "dataset", "limit": "1"}
        if cursor:
            params["cursor"] = cursor
        status, body = await get(jp_fetch, "datasets", **params)
        assert status == 200
        assert len(body["items"]) == 1
        seen += [i["did"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(seeded(playground, "cms"))
    assert pages == len(seeded(playground, "cms"))


async def test_search_by_type_and_metadata(jp_fetch, playground):
    _, containers = await get(jp_fetch, "datasets", q="cms:*", type="container")
    assert [i["name"] for i in containers["items"]] == ["Run3Summer22_NanoAODv9"]

    _, everything = await get(jp_fetch, "datasets", q="cms:*", type="all", limit="1000")
    files = [i for i in everything["items"] if i["type"] == "file"]
    assert len(files) == sum(len(d.files) for d in seeded(playground, "cms").values())

    signal = seeded(playground, "cms")["cms:DYJetsToLL_M-50_NanoAODv9"]
    events = sum(f.events for f in signal.files)
    _, exact = await get(
        jp_fetch, "datasets", q="cms:*", type="dataset", filters=f"events={events}"
    )
    assert "cms:DYJetsToLL_M-50_NanoAODv9" in {i["did"] for i in exact["items"]}
    _, none = await get(
        jp_fetch, "datasets", q="cms:*", type="dataset", filters="events>1000000000"
    )
    assert none["items"] == []


async def test_details_report_files_bytes_and_copies(jp_fetch, playground):
    admin = admin_client(playground)
    for ds in playground.datasets:
        status, body = await get(jp_fetch, "datasets/details", did=ds.did)
        assert status == 200, body
        assert body["files"] == len(ds.files)
        assert body["bytes"] == ds.bytes
        copies = {c["rse"]: c for c in body["copies"]}
        # Exactly Rucio's own view (other tests may have added copies), the seeded ones included.
        scope, name = ds.did.split(":")
        assert set(copies) == {
            r["rse"] for r in admin.list_dataset_replicas(scope, name, deep=True)
        }
        assert set(ds.rses) <= set(copies)
        for rse in ds.rses:
            assert copies[rse]["fraction"] == 1.0
            assert copies[rse]["available_bytes"] == ds.bytes
    multi = [d for d in playground.datasets if len(d.rses) > 1]
    assert multi, "the playground seeds at least one dataset with two copies"


async def test_container_details_add_up_its_datasets(jp_fetch, playground):
    status, body = await get(jp_fetch, "datasets/details", did="cms:Run3Summer22_NanoAODv9")
    assert status == 200
    nanoaod = [d for d in playground.datasets if d.scope == "cms"]
    assert body["type"] == "container"
    assert body["files"] == sum(len(d.files) for d in nanoaod)
    site_a = next(c for c in body["copies"] if c["rse"] == "SITE-A")
    assert site_a["total_files"] == body["files"]


async def test_files_list_with_state_per_site_and_paging(jp_fetch, playground):
    ds = next(d for d in playground.datasets if len(d.rses) > 1)
    status, body = await get(jp_fetch, "datasets/files", did=ds.did, limit="1")
    assert status == 200
    assert len(body["items"]) == 1 and body["next_cursor"]
    _, rest = await get(jp_fetch, "datasets/files", did=ds.did, cursor=body["next_cursor"])
    listed = {f["name"]: f for f in body["items"] + rest["items"]}
    assert set(listed) == {f.name for f in ds.files}
    for f in ds.files:
        assert listed[f.name]["adler32"] == f.adler32
        assert listed[f.name]["bytes"] == f.bytes
        states = listed[f.name]["states"]
        assert {rse: states.get(rse) for rse in ds.rses} == {rse: "AVAILABLE" for rse in ds.rses}

    _, at_a = await get(jp_fetch, "datasets/files", did=ds.did, rse="SITE-A")
    assert {f["name"]: f["states"] for f in at_a["items"]} == {
        f.name: {"SITE-A": "AVAILABLE"} for f in ds.files
    }


async def test_storage_elements_with_quota(jp_fetch, playground):
    status, body = await get(jp_fetch, "rses")
    assert status == 200
    quotas = {r["name"]: r["quota_bytes"] for r in body["items"]}
    assert playground.rses and set(playground.rses) <= set(quotas)
    for rse in playground.rses:
        assert isinstance(quotas[rse], int) and quotas[rse] > 0, (rse, quotas[rse])


async def test_health_names_rucio_and_the_account(jp_fetch, playground):
    status, body = await get(jp_fetch, "health")
    assert status == 200
    rucio = next(e for e in body["engines"] if e["name"] == "rucio")
    assert rucio["reachable"] is True
    assert rucio["account"] == playground.account
    assert rucio["url"] == playground.rucio_url


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("datasets/details", {"did": "cms:bad name"}, 400, "invalid_did"),
        ("datasets/details", {"did": "c ms:x"}, 400, "invalid_did"),
        ("datasets/details", {}, 400, "invalid_request"),
        ("datasets", {"q": "no-scope-here"}, 400, "invalid_request"),
        ("datasets", {"q": "cms:*", "type": "table"}, 400, "invalid_request"),
        ("datasets", {"q": "cms:*", "limit": "many"}, 400, "invalid_request"),
        ("datasets", {"q": "cms:*", "cursor": "forged"}, 400, "invalid_request"),
        ("datasets/details", {"did": "cms:NoSuchDataset_v1"}, 404, "not_found"),
        ("datasets/details", {"did": "nosuchscope:x"}, 404, "not_found"),
    ],
)
async def test_bad_input_gets_a_precise_error(jp_fetch, path, params, status, code):
    got, body = await get(jp_fetch, path, **params)
    assert (got, body["error"]) == (status, code)
    assert body["message"]


@pytest.mark.parametrize(
    "path", ["health", "datasets?q=cms:*", "datasets/details?did=cms:x", "rses"]
)
async def test_every_endpoint_needs_a_token(jp_serverapp, http_server_client, jp_base_url, path):
    response = await http_server_client.fetch(f"{jp_base_url}wp5/api/{path}", raise_error=False)
    assert response.code == 403
    body = json.loads(response.body)
    assert set(body) == {"error", "message"}


async def test_rucio_down_gives_503_then_recovers_without_restart(jp_fetch, facility):
    facility.rucio.stop()
    try:
        status, body = await get(jp_fetch, "datasets", q="cms:*")
        assert status == 503
        assert body["error"] == "engine_unavailable"
        assert "Rucio" in body["message"] and "unreachable" in body["message"]
        _, health = await get(jp_fetch, "health")
        assert health["engines"][0]["reachable"] is False
    finally:
        facility.rucio.start()
    status, body = await get(jp_fetch, "datasets", q="cms:*", type="dataset")
    assert status == 200 and body["items"]


async def test_pages_beyond_the_first_of_a_large_listing(jp_fetch, playground):
    """A dataset of a few hundred files, listed 100 at a time: every page after the first follows
    its cursor, and together they hold every file exactly once."""
    admin = admin_client(playground)
    scope, name = f"user.{playground.account}", f"large_{uuid.uuid4().hex[:8]}"
    files = [
        {"scope": scope, "name": f"{name}_{i:04d}.root", "bytes": 1000 + i, "adler32": "0badf00d"}
        for i in range(350)
    ]
    # Catalogue entries only (the listing never reads the bytes), kept by a rule at SITE-A.
    replayed(admin.add_replicas, "SITE-A", files)
    replayed(admin.add_dataset, scope, name)
    replayed(admin.attach_dids, scope, name, [{"scope": scope, "name": f["name"]} for f in files])
    (rule,) = replayed(admin.add_replication_rule, [{"scope": scope, "name": name}], 1, "SITE-A")
    try:
        pages, cursor = [], None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            status, page = await get(jp_fetch, "datasets/files", did=f"{scope}:{name}", **params)
            assert status == 200, page
            pages.append(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [100, 100, 100, 50]
        listed = [f["name"] for p in pages for f in p]
        assert sorted(listed) == sorted(f["name"] for f in files)  # each once: no repeats
        sizes = {f["name"]: f["bytes"] for p in pages for f in p}
        assert sizes == {f["name"]: f["bytes"] for f in files}
    finally:
        discard(admin, rule)


async def test_searching_again_shows_a_dataset_registered_since(jp_fetch, playground):
    """A first page always asks Rucio: the same search, typed again, is not answered from the
    rows an earlier page kept for paging on."""
    client = admin_client(playground)
    scope, tag = f"user.{playground.account}", uuid.uuid4().hex[:8]
    query = {"q": f"{scope}:fresh_{tag}_*", "type": "dataset"}
    replayed(client.add_dataset, scope, f"fresh_{tag}_1")
    status, body = await get(jp_fetch, "datasets", **query)
    assert status == 200 and [i["name"] for i in body["items"]] == [f"fresh_{tag}_1"]
    replayed(client.add_dataset, scope, f"fresh_{tag}_2")
    status, body = await get(jp_fetch, "datasets", **query)
    assert sorted(i["name"] for i in body["items"]) == [f"fresh_{tag}_1", f"fresh_{tag}_2"]
