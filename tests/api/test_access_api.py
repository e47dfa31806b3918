"""Access between communities, against the real Rucio and the playground's policy package.

The Jupyter server here acts as Leonardo's user; INAF's steward acts through the same service
class with the steward's own Rucio account, as the steward's own server would. Rucio itself
refuses the user's rules without a live grant (the 403 names it), admits them after a grant and
refuses them again after a revoke, with no restart; every event lands in the access ledger with a
receipt that verifies offline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pytest

from jupyter_wp5.communities.records import SECTION, AccessRecord
from jupyter_wp5.data.rucio_connection import RucioConnection
from jupyter_wp5.ledger import LedgerClient, commit_text, verify
from jupyter_wp5.models import Conflict
from jupyter_wp5.playground.communities import LEONARDO_USER, STEWARD
from tests import access_setup
from tests.access_setup import DATASET, rucio_cfg
from tests.rucio_admin import admin_client, discard

from .contract import call

# The server acts as Leonardo's user; INAF's steward decides through its own service.
jp_server_config = access_setup.jp_server_config
steward = access_setup.steward

PURPOSE = "conjunction screening for a LEO constellation study"


def _in(hours: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _rule_ids(client) -> set[str]:
    scope, name = DATASET.split(":")
    rules = client.list_replication_rules({"account": LEONARDO_USER, "scope": scope})
    return {r["id"] for r in rules if r["name"] == name}


def _wait_gone(client, rule_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while rule_id in _rule_ids(client):
        assert time.monotonic() < deadline, "the revoked grant's rule did not end"
        time.sleep(0.5)


def _receipt_of(playground, index: int) -> dict:
    receipt = LedgerClient(playground.ledger.url).receipt(index)
    verify(json.loads(json.dumps(receipt)), trusted_keys=playground.ledger.verifier_keys)
    return receipt["entry"]


async def test_refused_then_granted_then_refused_after_revoke(jp_fetch, playground, steward):
    admin = admin_client(playground)
    copy = {"did": DATASET, "rse_expression": "SITE-C", "lifetime": "30m"}

    status, body = await call(jp_fetch, "POST", "replicas", copy)
    assert status == 403, body
    assert "no access grant" in body["message"] and LEONARDO_USER in body["message"]
    assert DATASET in body["message"] and STEWARD in body["message"]
    assert not _rule_ids(admin)

    status, asked = await call(
        jp_fetch, "POST", "access/requests", {"did": DATASET, "purpose": PURPOSE}
    )
    assert status == 201, asked
    request = asked["request"]
    assert request["status"] == "pending" and request["requester"] == LEONARDO_USER
    assert commit_text(PURPOSE, asked["purpose_salt"])[0] == request["purpose_hmac"]
    assert PURPOSE not in json.dumps(admin.get_config(section=SECTION))
    status, listing = await call(jp_fetch, "GET", "access/requests")
    assert status == 200 and listing["account"] == LEONARDO_USER
    assert listing["communities"] == ["leonardo"] and listing["stewarded"] == []
    assert request["id"] in {r["id"] for r in listing["mine"]}
    overview = await steward.overview()
    assert request["id"] in {r["id"] for r in overview["stewarded"] if r["status"] == "pending"}

    # Still refused while pending.
    status, body = await call(jp_fetch, "POST", "replicas", copy)
    assert status == 403, body

    granted = await steward.grant(request["id"], _in(2), ["SITE-C"])
    assert granted.record.status == "granted" and granted.record.steward == STEWARD
    status, mine = await call(jp_fetch, "GET", f"access/requests/{request['id']}")
    assert status == 200 and mine["status"] == "granted" and mine["rses"] == ["SITE-C"]

    # The grant's limits: its storage elements, and rules that end by its expiry.
    status, body = await call(jp_fetch, "POST", "replicas", {**copy, "rse_expression": "SITE-B"})
    assert status == 403 and "only at SITE-C" in body["message"], body
    status, body = await call(jp_fetch, "POST", "replicas", {**copy, "lifetime": "3h"})
    assert status == 403 and "lifetime of at most" in body["message"], body

    status, made = await call(jp_fetch, "POST", "replicas", copy)
    assert status == 201, made
    try:
        assert made["id"] in _rule_ids(admin)
        revoked = await steward.revoke(request["id"], "the study ended")
        assert revoked.record.status == "revoked"
        assert revoked.rules_removed == (made["id"],)
        _wait_gone(admin, made["id"])
        status, body = await call(jp_fetch, "POST", "replicas", copy)
        assert status == 403 and "no access grant" in body["message"], body
    finally:
        if made["id"] in _rule_ids(admin):
            discard(admin, made["id"])

    events = [asked["ledger_index"], granted.ledger_index, revoked.ledger_index]
    entries = [_receipt_of(playground, i) for i in events]
    assert [e["event"] for e in entries] == ["access_request", "grant", "revoke"]
    assert entries[0]["purpose_hmac"] == request["purpose_hmac"]
    assert entries[1]["grantee"] == LEONARDO_USER and entries[1]["rses"] == ["SITE-C"]
    assert "reason_hmac" in entries[2]
    between = LedgerClient(playground.ledger.url).entries(events[1] + 1, events[2])
    (rule_entry,) = [e for e in between if e.get("rule_id") == made["id"]]
    # The copy's answer names its entry: what jupyter_wp5.receipts(copy) fetches.
    made_at = [i for i, e in enumerate(between, events[1] + 1) if e.get("rule_id") == made["id"]]
    assert made["ledger_indexes"] == made_at
    assert rule_entry["event"] == "rule_created" and rule_entry["request_id"] == request["id"]
    assert rule_entry["account"] == LEONARDO_USER and rule_entry["rse"] == "SITE-C"


async def test_a_leonardo_user_can_never_grant(jp_fetch, playground, steward):
    status, asked = await call(
        jp_fetch, "POST", "access/requests", {"did": DATASET, "purpose": "x"}
    )
    assert status == 201, asked
    request_id = asked["request"]["id"]

    # Refused by our service...
    status, body = await call(
        jp_fetch, "POST", f"access/requests/{request_id}/grant", {"expires": _in(1)}
    )
    assert status == 403 and STEWARD in body["message"], body
    # ...and by Rucio, for a user who writes the grant there directly.
    from rucio.common.exception import AccessDenied

    user = RucioConnection(rucio_config=rucio_cfg(playground, LEONARDO_USER)).new_client()
    stored = AccessRecord.from_stored(user.get_config(section=SECTION, option=request_id))
    forged = stored.decide("granted", LEONARDO_USER, expires=_in(1))
    with pytest.raises(AccessDenied):
        user.set_config_option(SECTION, request_id, forged.stored())
    status, mine = await call(jp_fetch, "GET", f"access/requests/{request_id}")
    assert mine["status"] == "pending"

    denied = await steward.deny(request_id)
    assert denied.record.status == "denied"
    assert _receipt_of(playground, denied.ledger_index)["event"] == "deny"
    with pytest.raises(Conflict, match="denied"):
        await steward.grant(request_id, _in(1))


async def test_an_expired_grant_admits_nothing_and_its_rules_end(jp_fetch, playground, steward):
    admin = admin_client(playground)
    status, asked = await call(
        jp_fetch, "POST", "access/requests", {"did": DATASET, "purpose": "p"}
    )
    request_id = asked["request"]["id"]
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=8)
    await steward.grant(request_id, expires.strftime("%Y-%m-%dT%H:%M:%SZ"))
    copy = {"did": DATASET, "rse_expression": "SITE-C", "lifetime": "5"}
    status, made = await call(jp_fetch, "POST", "replicas", copy)
    assert status == 201, made
    # Wait for the expiry itself (not a timing assertion: the grant is defined by this time).
    await asyncio.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 1)
    status, body = await call(jp_fetch, "POST", "replicas", copy)
    assert status == 403 and "no access grant" in body["message"], body
    status, mine = await call(jp_fetch, "GET", f"access/requests/{request_id}")
    assert mine["status"] == "expired"
    _wait_gone(admin, made["id"])


async def test_the_communities_are_served_as_configured(jp_fetch):
    status, body = await call(jp_fetch, "GET", "access/communities")
    assert status == 200
    by_name = {c["name"]: c for c in body["items"]}
    assert by_name["inaf"]["scopes"] == ["space"] and by_name["leonardo"]["rses"] == ["SITE-C"]


def test_community_data_cannot_be_wrapped_into_an_own_collection(playground):
    """A rule on one's own container holding INAF's dataset would copy it without a grant:
    Rucio refuses the attachment."""
    from rucio.common.exception import AccessDenied

    user = RucioConnection(rucio_config=rucio_cfg(playground, LEONARDO_USER)).new_client()
    own = f"user.{LEONARDO_USER}"
    name = f"wrap-{time.time_ns()}"
    user.add_container(own, name)
    scope, dataset = DATASET.split(":")
    with pytest.raises(AccessDenied, match="may not attach"):
        user.attach_dids(own, name, [{"scope": scope, "name": dataset}])
    assert list(user.list_content(own, name)) == []


async def test_downloads_need_a_grant_that_allows_them(jp_fetch, steward, tmp_path):
    """Rucio does not see reads from storage, so this refusal is the access service's."""
    download = {"did": DATASET, "mode": "download"}
    status, body = await call(jp_fetch, "POST", "replicas", download)
    assert status == 403 and "no access grant" in body["message"], body
    status, asked = await call(
        jp_fetch, "POST", "access/requests", {"did": DATASET, "purpose": "p"}
    )
    await steward.grant(asked["request"]["id"], _in(1), ["SITE-C"])
    try:
        status, body = await call(jp_fetch, "POST", "replicas", download)
        assert status == 403 and "not downloads" in body["message"], body
    finally:
        await steward.revoke(asked["request"]["id"])
    assert not (tmp_path / "scratch").exists() or not any((tmp_path / "scratch").rglob("*.parquet"))


def access_records(admin) -> dict:
    """Every stored access record (none yet when this test runs first)."""
    from rucio.common.exception import ConfigNotFound

    try:
        return admin.get_config(section=SECTION)
    except ConfigNotFound:
        return {}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"did": "space:no_such_dataset", "purpose": "p"}, 404, "not found"),
        ({"did": "cms:DYJetsToLL_M-50_NanoAODv9", "purpose": "p"}, 400, "no community"),
        ({"did": DATASET, "purpose": "  "}, 400, "purpose"),
        ({"did": DATASET}, 400, "lacks a required field (purpose)"),
        ({"did": "nodid", "purpose": "p"}, 400, "did does not match scope:name"),
    ],
)
async def test_bad_requests_are_refused_and_leave_nothing(
    jp_fetch, playground, body, status, words
):
    before = access_records(admin_client(playground))
    got, answer = await call(jp_fetch, "POST", "access/requests", body)
    assert got == status and words in answer["message"], answer
    assert access_records(admin_client(playground)) == before


@pytest.mark.parametrize(
    ("expires", "rses", "words"),
    [
        (_in(-1), None, "in the past"),
        ("next tuesday", None, "RFC 3339"),
        (_in(1), ["NO-SUCH-SITE"], "unknown storage element NO-SUCH-SITE"),
    ],
)
async def test_bad_grants_are_refused_and_change_nothing(jp_fetch, steward, expires, rses, words):
    from jupyter_wp5.models import InvalidRequest

    status, asked = await call(
        jp_fetch, "POST", "access/requests", {"did": DATASET, "purpose": "p"}
    )
    assert status == 201
    request_id = asked["request"]["id"]
    with pytest.raises(InvalidRequest, match=words):
        await steward.grant(request_id, expires, rses)
    assert (await steward.get(request_id)).status == "pending"
    await steward.deny(request_id)


async def test_the_playground_user_is_an_inaf_member_and_needs_no_grant(playground):
    member = RucioConnection(rucio_config=str(playground.rucio_config)).new_client()
    scope, name = DATASET.split(":")
    # At the origin, where the files are: Rucio admits the rule and no copy is made.
    rule_id = member.add_replication_rule([{"scope": scope, "name": name}], 1, "SITE-A")[0]
    discard(admin_client(playground), rule_id)


async def test_the_ledger_checkpoint_and_receipts_are_served(jp_fetch, playground):
    """What the kernel's `%wp5 ledger` and the panel read: the latest cosigned checkpoint, and
    the receipt of an event's entry, both verifying against the playground's published keys."""
    from jupyter_wp5.ledger import verify_checkpoint

    status, asked = await call(
        jp_fetch, "POST", "access/requests", {"did": DATASET, "purpose": "p"}
    )
    assert status == 201, asked
    status, receipt = await call(jp_fetch, "GET", f"access/ledger/receipts/{asked['ledger_index']}")
    assert status == 200, receipt
    proved = verify(receipt, trusted_keys=playground.ledger.verifier_keys)
    assert proved.entry["request_id"] == asked["request"]["id"]

    status, latest = await call(jp_fetch, "GET", "access/ledger/checkpoint")
    assert status == 200, latest
    checkpoint, _, witnesses = verify_checkpoint(
        latest["checkpoint"], playground.ledger.verifier_keys
    )
    assert checkpoint.size >= receipt["tree_size"] and len(witnesses) == 2

    status, body = await call(jp_fetch, "GET", "access/ledger/receipts/999999999")
    assert status == 404 and body["error"] == "not_found", body
