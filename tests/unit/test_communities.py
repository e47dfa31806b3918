"""Communities as configured, and access records as Rucio keeps them (no Rucio needed)."""

from __future__ import annotations

import datetime as dt

import pytest
from traitlets import TraitError
from traitlets.config import Config

from jupyter_wp5.communities import AccessRecord, Communities
from jupyter_wp5.playground.communities import community_config


def _record(**changes) -> AccessRecord:
    base = AccessRecord(
        id="0123456789abcdef",
        requester="leonardo-user",
        did="space:debris_catalogue_2026",
        purpose_hmac="ab" * 32,
        requested="2026-12-01T10:00:00Z",
    )
    return AccessRecord(**{**base.__dict__, **changes})


def test_the_playground_communities_own_scopes_and_accounts() -> None:
    communities = Communities(config=Config(community_config("jovyan")))
    inaf = communities.owner_of("space")
    assert inaf is not None and inaf.name == "inaf" and inaf.stewards == ["inaf-steward"]
    assert communities.owner_of("cms") is None
    assert [c.name for c in communities.of_account("leonardo-user")] == ["leonardo"]
    assert [c.name for c in communities.of_account("jovyan")] == ["inaf"]
    assert "leonardo-user" not in inaf.members


@pytest.mark.parametrize(
    "value",
    [
        {"inaf": {"scope": ["space"]}},  # misspelt key
        {"inaf": {"scopes": "space"}},  # not a list
        {"inaf": ["space"]},
    ],
)
def test_malformed_communities_are_refused_when_configured(value) -> None:
    with pytest.raises(TraitError):
        Communities(communities=value)


def test_a_grant_past_its_expiry_shows_as_expired_and_is_not_live() -> None:
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expired = _record(status="granted", expires=past)
    assert not expired.live() and expired.to_dict()["status"] == "expired"
    live = _record(status="granted", expires=future)
    assert live.live() and live.to_dict()["status"] == "granted"
    assert not _record(status="revoked", expires=future).live()


def test_records_round_trip_through_their_stored_form() -> None:
    record = _record().decide(
        "granted", "inaf-steward", expires="2027-01-01T00:00:00Z", rses=["SITE-C"]
    )
    assert AccessRecord.from_stored(record.stored()) == record
    assert record.steward == "inaf-steward" and record.decided is not None
