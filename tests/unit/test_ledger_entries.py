"""Ledger entries: canonical JSON, one schema per event, no free text or unknown fields."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest

from jupyter_wp5.ledger.entries import (
    EVENTS,
    EntryError,
    canonical_json,
    commit_text,
    make_entry,
    validate_entry,
)

WHEN = dt.datetime(2026, 12, 2, 4, 0, 5, 123, tzinfo=dt.UTC)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    value = {"b": [1, True, None], "a": "é\n", "c": {"z": 1, "y": "x"}}
    assert canonical_json(value) == '{"a":"é\\n","b":[1,true,null],"c":{"y":"x","z":1}}'.encode()
    # Key order of the input does not matter; the bytes are the same.
    assert canonical_json(dict(reversed(list(value.items())))) == canonical_json(value)


@pytest.mark.parametrize("bad", [{"x": 1.5}, {"x": 2**60}, {"é": 1}, {"x": b"raw"}])
def test_values_outside_the_canonical_subset_are_refused(bad: dict) -> None:
    with pytest.raises(EntryError):
        canonical_json(bad)


def test_an_analysis_run_entry_holds_dids_checksums_and_hashes() -> None:
    entry = make_entry(
        "analysis_run",
        time=WHEN,
        account="leonardo-user",
        inputs=[{"did": "space:debris.catalogue", "adler32": "0a1b2c3d"}],
        code_sha256=hashlib.sha256(b"code").hexdigest(),
        env_lock_sha256=hashlib.sha256(b"lock").hexdigest(),
        output_sha256=hashlib.sha256(b"out").hexdigest(),
    )
    assert entry["time"] == "2026-12-02T04:00:05Z"
    assert entry["v"] == 1 and entry["event"] == "analysis_run"
    assert json.loads(canonical_json(entry)) == entry


def test_purposes_are_only_salted_commitments() -> None:
    purpose = "screen close approaches for our constellation"
    digest, salt = commit_text(purpose)
    assert digest == hmac.new(bytes.fromhex(salt), purpose.encode(), hashlib.sha256).hexdigest()
    assert commit_text(purpose, salt) == (digest, salt)
    assert commit_text(purpose)[0] != digest  # a new salt each time
    entry = make_entry(
        "access_request",
        request_id="req-1",
        requester="leonardo-user",
        did="space:debris.catalogue",
        purpose_hmac=digest,
    )
    assert purpose not in canonical_json(entry).decode()
    with pytest.raises(EntryError, match="unknown field"):
        make_entry(
            "access_request",
            request_id="req-1",
            requester="leonardo-user",
            did="space:debris.catalogue",
            purpose_hmac=digest,
            purpose=purpose,
        )


@pytest.mark.parametrize(
    ("event", "fields", "message"),
    [
        ("grant", {"request_id": "r", "steward": "inaf-steward", "did": "space:x"}, "missing"),
        ("teleport", {}, "unknown event"),
        (
            "download",
            {"account": "Leonardo User", "did": "space:x", "files": []},
            "account must be a Rucio account name",
        ),
        (
            "download",
            {"account": "lu", "did": "space:x", "files": [{"did": "space:f", "adler32": "zz"}]},
            "files must be a list",
        ),
        ("replica_ready", {"rule_id": "r1", "did": "space:x", "rse": "site c"}, "rse"),
        ("deny", {"request_id": "r", "steward": "s", "grantee": "g", "did": "x"}, "did"),
    ],
)
def test_malformed_entries_are_refused_with_the_reason(event, fields, message) -> None:
    with pytest.raises(EntryError, match=message):
        make_entry(event, **fields)


def test_every_event_of_the_issue_has_a_schema() -> None:
    assert set(EVENTS) == {
        "access_request",
        "grant",
        "deny",
        "revoke",
        "rule_created",
        "replica_ready",
        "download",
        "analysis_run",
    }
    with pytest.raises(EntryError, match="version"):
        validate_entry({"event": "grant"})
