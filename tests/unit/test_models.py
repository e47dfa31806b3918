"""Parsing of what users type: DIDs, searches, filters, cluster requests; the typed
states and their one meaning, held against openapi.yaml."""

import json
from pathlib import Path

import pytest
import yaml

import jupyter_wp5.models as models
from jupyter_wp5.models import (
    DID,
    ClusterInfo,
    ClusterRequest,
    ClusterSize,
    ClusterStatus,
    DatasetDetails,
    DeepCount,
    DeepState,
    DidSummary,
    DidTypeFilter,
    FileEntry,
    FileReplicaState,
    InvalidDID,
    InvalidRequest,
    ReplicaMode,
    ReplicaProgress,
    ReplicaState,
    ReplicaUpdate,
    SearchPage,
    SearchQuery,
    SiteCopy,
    error_from_dict,
)


def test_did_parse_round_trip():
    did = DID.parse("cms:DYJetsToLL_M-50/part.1")
    assert (did.scope, did.name) == ("cms", "DYJetsToLL_M-50/part.1")
    assert str(did) == "cms:DYJetsToLL_M-50/part.1"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no-colon", "expected scope:name"),
        (":name", "not a valid scope"),
        ("cms:", "not a valid name"),
        ("c ms:x", "not a valid scope"),
        ("cms:bad name", "not a valid name"),
        ("cms:*", "not a valid name"),
    ],
)
def test_malformed_dids_say_why(text, reason):
    with pytest.raises(InvalidDID, match=reason) as info:
        DID.parse(text)
    assert info.value.status == 400
    assert info.value.to_dict()["error"] == "invalid_did"


def test_search_query_with_wildcards_type_and_filters():
    q = SearchQuery.parse("cms:*DY*", type="dataset", filters="events>1000, datatype=NANOAOD")
    assert (q.scope, q.pattern, q.type) == ("cms", "*DY*", DidTypeFilter.DATASET)
    assert q.filters == (("events", ">", "1000"), ("datatype", "=", "NANOAOD"))
    assert str(q) == "cms:*DY*"


def test_search_query_defaults_to_all_collections():
    q = SearchQuery.parse("space:")
    assert (q.pattern, q.type) == ("*", DidTypeFilter.COLLECTION)


@pytest.mark.parametrize(
    ("q", "kind", "filters", "reason"),
    [
        ("cms", None, None, "expected scope:pattern"),
        ("cms:DY;drop", None, None, "not a valid name pattern"),
        ("cms:*", "table", None, "type must be one of"),
        ("cms:*", None, "events>>", "is not a filter"),
    ],
)
def test_bad_searches_are_refused_with_reason(q, kind, filters, reason):
    with pytest.raises(InvalidRequest, match=reason):
        SearchQuery.parse(q, type=kind, filters=filters)


def test_records_survive_the_wire():
    details = DatasetDetails(
        "cms", "DY", "dataset", 300, 3, copies=[SiteCopy("SITE-A", 2, 3, 200, 300)]
    )
    wire = details.to_dict()
    assert wire["did"] == "cms:DY"
    assert wire["copies"][0]["fraction"] == pytest.approx(2 / 3)
    assert (wire["summary"], wire["partial"], wire["deep"]) == (True, False, None)
    assert DatasetDetails.from_dict(wire) == details
    details.deep = DeepCount("cms:DY", DeepState.CAPPED, 3, 3, 1, 1, 1, "x.max_datasets")
    wire = details.to_dict()
    assert wire["deep"]["state"] == "capped"
    assert DatasetDetails.from_dict(json.loads(json.dumps(wire))) == details
    page = SearchPage.from_dict({"query": "cms:*", "items": [], "next_cursor": None})
    assert page.items == []


def test_errors_rebuild_from_the_wire():
    err = error_from_dict({"error": "not_found", "message": "no such DID"}, 404)
    assert type(err).__name__ == "NotFound"
    assert err.message == "no such DID"


def test_replica_update_takes_a_lifetime_and_or_a_retry():
    assert ReplicaUpdate.from_dict({"lifetime": "7d"}) == ReplicaUpdate(lifetime=7 * 86400)
    assert ReplicaUpdate.from_dict({"retry": True}) == ReplicaUpdate(retry=True)
    both = ReplicaUpdate.from_dict({"lifetime": 3600, "retry": True})
    assert (both.lifetime, both.retry) == (3600, True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "nothing to change"),
        ({"retry": False}, "nothing to change"),
        ({"retry": "yes"}, "retry must be true or false"),
        ({"lifetime": "soon"}, "not a duration"),
        ({"copies": 2}, "unknown fields: copies"),
        ([], "must be a JSON object"),
    ],
)
def test_bad_replica_updates_say_why(body, reason):
    with pytest.raises(InvalidRequest, match=reason):
        ReplicaUpdate.from_dict(body)


def test_replica_update_goes_back_to_the_same_body():
    for change in (ReplicaUpdate(lifetime=60), ReplicaUpdate(retry=True), ReplicaUpdate(60, True)):
        assert ReplicaUpdate.from_dict(change.to_dict()) == change


def test_cluster_request_reads_profile_size_and_name():
    req = ClusterRequest.from_dict({"profile": "cpu"})
    assert req == ClusterRequest("cpu", ClusterSize(workers=1))
    req = ClusterRequest.from_dict(
        {"profile": "gpu", "adaptive": {"minimum": 1, "maximum": 3}, "name": "mine"}
    )
    assert (req.profile, req.size, req.name) == ("gpu", ClusterSize(None, 1, 3), "mine")
    for size in (ClusterSize(workers=2), ClusterSize(minimum=0, maximum=4)):
        assert ClusterSize.parse(size.to_dict()) == size


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "profile is required"),
        ({"profile": ""}, "profile is required"),
        ({"profile": "cpu", "name": 3}, "name must be a string"),
        ({"profile": "cpu", "workers": -1}, "whole number >= 0"),
        ({"profile": "cpu", "workers": 1, "adaptive": {"maximum": 2}}, "not both"),
        (None, "must be a JSON object"),
    ],
)
def test_bad_cluster_requests_say_why(body, reason):
    with pytest.raises(InvalidRequest, match=reason):
        ClusterRequest.from_dict(body)


def test_states_are_typed_from_the_wire():
    progress = ReplicaProgress.from_dict(
        {"id": "a", "did": "cms:x", "rse_expression": "B", "state": "STUCK", "copies": 1,
         "files_total": 2, "files_ok": 1, "files_replicating": 0, "files_stuck": 1,
         "mode": "download"}
    )  # fmt: skip
    assert progress.state is ReplicaState.STUCK and progress.mode is ReplicaMode.DOWNLOAD
    assert progress.to_dict()["state"] == "STUCK"
    # In a notebook the record still reads as it did with plain strings.
    assert "state='STUCK'" in repr(progress) and progress.state == "STUCK"
    entry = FileEntry("cms", "f", 1, None, {"SITE-A": "AVAILABLE"})
    assert entry.states["SITE-A"] is FileReplicaState.AVAILABLE
    with pytest.raises(ValueError):
        FileEntry("cms", "f", 1, None, {"SITE-A": "SOMEWHERE"})
    info = ClusterInfo("c", "n", "cpu", "local", "lost", 0, 0, 0, 0, "", None, "")
    assert info.status is ClusterStatus.LOST


def test_stuck_is_shown_but_not_moving():
    moving = {s for s in ReplicaState if s.is_moving}
    attention = {s for s in ReplicaState if s.needs_attention}
    assert moving == {ReplicaState.REPLICATING, ReplicaState.INJECT, ReplicaState.WAITING_APPROVAL}
    assert attention == {ReplicaState.STUCK, ReplicaState.SUSPENDED}
    # Every state is exactly one of moving, needing attention, or OK.
    assert moving | attention | {ReplicaState.OK} == set(ReplicaState)
    assert not moving & attention


def _schemas() -> dict:
    spec = Path(models.__file__).with_name("openapi.yaml")
    return yaml.safe_load(spec.read_text())["components"]["schemas"]


@pytest.mark.parametrize(
    "enum", [ReplicaState, models.FileReplicaState, ReplicaMode, ClusterStatus]
)
def test_state_enums_match_the_contract(enum):
    schema = _schemas()[enum.__name__]
    assert schema["enum"] == [member.value for member in enum]


def test_moving_and_attention_match_the_contract():
    schema = _schemas()["ReplicaState"]
    assert schema["x-moving"] == [s.value for s in ReplicaState if s.is_moving]
    assert schema["x-needs-attention"] == [s.value for s in ReplicaState if s.needs_attention]


def test_whole_floats_from_rucio_on_postgresql_go_out_as_integers() -> None:
    # Rucio's server on PostgreSQL loads NUMERIC sums (bytes, lengths) as floats.
    copy = SiteCopy("SITE-A", 2.0, 2, 216031.0, 216031.0)  # type: ignore[arg-type]
    details = DatasetDetails("cms", "ds", "dataset", 216031.0, 2.0, [copy])  # type: ignore[arg-type]
    wire = details.to_dict()
    assert wire["bytes"] == 216031 and isinstance(wire["bytes"], int)
    assert isinstance(wire["files"], int)
    assert all(
        isinstance(v, int) for k, v in wire["copies"][0].items() if k != "fraction" and k != "rse"
    )
    # Search rows too (their fields are found once per record class, then reused).
    for _ in range(2):
        row = DidSummary("cms", "ds", "dataset", 216031.0, 2.0).to_dict()  # type: ignore[arg-type]
        assert row == {
            "scope": "cms",
            "name": "ds",
            "type": "dataset",
            "bytes": 216031,
            "files": 2,
            "did": "cms:ds",
        }
        assert isinstance(row["bytes"], int) and isinstance(row["files"], int)
