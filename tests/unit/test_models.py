"""Parsing of what users type: DIDs, searches, filters and cursors."""

import json

import pytest

from jupyter_wp5.models import (
    DID,
    DatasetDetails,
    DeepCount,
    DeepState,
    DidTypeFilter,
    InvalidDID,
    InvalidRequest,
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
