"""Copy requests as Rucio rules: accepted only when Rucio accepts, refusals with reasons, and
nothing left behind by a refused request. (Transfers themselves need the playground's daemons.)"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime, timedelta

import pytest

from jupyter_wp5.data.catalog import RucioCatalog
from jupyter_wp5.data.rucio_connection import RucioConnection
from jupyter_wp5.kernel.client import Wp5Client
from jupyter_wp5.kernel.inprocess import InProcessTransport
from jupyter_wp5.kernel.rest import RestTransport
from jupyter_wp5.models import ReplicaState
from tests.rucio_admin import (
    admin_client,
    discard,
    discard_new_rules,
    new_dataset,
    rule_ids,
)

from .contract import call

pytestmark = pytest.mark.rucio

DATASET = "cms:WJetsToLNu_NanoAODv9"
# Not DATASET, and one per transport: after a cancel, Rucio refuses the same copy again for a
# while (the rule is deleted softly, then its replicas).
KERNEL_DATASETS = {"rest": "cms:TTTo2L2Nu_NanoAODv9", "in-process": "space:debris_catalogue_2026"}


async def rules_on(jp_fetch, did: str) -> list[dict]:
    status, body = await call(jp_fetch, "GET", "datasets/details", did=did)
    assert status == 200
    return body["rules"]


async def rule_ids_on(jp_fetch, did: str) -> set[str]:
    # Ids only: the playground's daemons move the bytes, so states change while a test runs.
    return {r["id"] for r in await rules_on(jp_fetch, did)}


async def test_request_follow_and_cancel_a_copy(jp_fetch, playground):
    expected = next(d for d in playground.datasets if d.did == DATASET)
    status, made = await call(
        jp_fetch,
        "POST",
        "replicas",
        {"did": DATASET, "rse_expression": "SITE-B", "lifetime": "1d", "comment": "wp5 test"},
    )
    assert status == 201, made
    cancelled = False
    try:
        assert made["did"] == DATASET and made["rse_expression"] == "SITE-B"
        assert made["state"] in {"REPLICATING", "OK"}
        assert made["files_total"] == len(expected.files)
        assert made["files_ok"] + made["files_replicating"] == len(expected.files)
        assert made["bytes_total"] == expected.bytes
        assert made["expires_at"] and made["comment"] == "wp5 test"

        _, listed = await call(jp_fetch, "GET", "replicas")
        assert made["id"] in [r["id"] for r in listed["items"]]
        status, one = await call(jp_fetch, "GET", f"replicas/{made['id']}")
        assert status == 200 and one["id"] == made["id"]
        assert made["id"] in [r["id"] for r in await rules_on(jp_fetch, DATASET)]
        # The playground's policy (as CMS's and ATLAS's) lets a rule's owner extend and cancel it.
        status, extended = await call(
            jp_fetch, "PATCH", f"replicas/{made['id']}", {"lifetime": "7d"}
        )
        assert status == 200 and extended["expires_at"] > made["expires_at"], extended
        status, _ = await call(jp_fetch, "PATCH", f"replicas/{made['id']}", {})
        assert status == 400
        status, body = await call(jp_fetch, "DELETE", f"replicas/{made['id']}")
        assert (status, body) == (204, None)
        cancelled = True
    finally:
        if not cancelled:
            discard(admin_client(playground), made["id"])
    # A cancelled request is no longer the user's.
    status, _ = await call(jp_fetch, "GET", f"replicas/{made['id']}")
    assert status == 404
    # Rucio deletes softly: the rule now expires within the hour and its cleaner removes it.
    admin = admin_client(playground)
    expires = admin.get_replication_rule(made["id"])["expires_at"]
    assert expires <= datetime.utcnow() + timedelta(seconds=3600)
    discard(admin, made["id"])


async def test_quota_exceeded_is_409_with_reason_and_leaves_no_rule(jp_fetch):
    before = await rule_ids_on(jp_fetch, DATASET)
    status, body = await call(
        jp_fetch, "POST", "replicas", {"did": DATASET, "rse_expression": "SITE-C"}
    )
    assert status == 409
    assert "quota" in body["message"]
    # No new rule (an earlier test's expired rule may be cleaned up meanwhile).
    assert await rule_ids_on(jp_fetch, DATASET) <= before


async def test_bad_requests_are_refused_before_anything_is_created(jp_fetch):
    before = await rule_ids_on(jp_fetch, DATASET)
    cases = [
        ({"did": DATASET, "rse_expression": "SITE-Z"}, 400),
        ({"did": DATASET, "rse_expression": "SITE-A&("}, 400),
        ({"did": DATASET}, 400),
        ({"did": DATASET, "rse_expression": "SITE-B", "lifetime": "soon"}, 400),
        ({"did": DATASET, "rse_expression": "SITE-B", "copies": 0}, 400),
        ({"did": "cms:NoSuchDataset_v1", "rse_expression": "SITE-B"}, 404),
        ({"did": "not a did", "rse_expression": "SITE-B"}, 400),
    ]
    for payload, expected in cases:
        status, body = await call(jp_fetch, "POST", "replicas", payload)
        assert (status, bool(body["message"])) == (expected, True), (payload, body)
    status, _ = await call(jp_fetch, "GET", "replicas/not-a-rule-id")
    assert status == 400
    # No new rule (an earlier test's expired rule may be cleaned up meanwhile).
    assert await rule_ids_on(jp_fetch, DATASET) <= before


@pytest.mark.parametrize("where", list(KERNEL_DATASETS))
async def test_the_kernel_extends_and_cancels_its_copy(where, jp_serverapp, jp_fetch, playground):
    """Both transports carry the whole replicas service: update (PATCH) and cancel (DELETE) too."""
    if where == "rest":
        url, token = jp_serverapp.connection_url, jp_serverapp.identity_provider.token
        transport = RestTransport(url, token)
    else:
        connection = RucioConnection(rucio_config=str(playground.rucio_config))
        transport = InProcessTransport(RucioCatalog(connection))
    admin = admin_client(playground)
    before = rule_ids(admin, playground.account)

    def scenario() -> None:
        with Wp5Client(transport) as client:
            made = client.replicate(KERNEL_DATASETS[where], to="SITE-B", lifetime="1d")
            assert made.state in {ReplicaState.REPLICATING, ReplicaState.OK}
            extended = client.update_transfer(made.id, lifetime="7d")
            assert extended.id == made.id and extended.expires_at > made.expires_at
            client.cancel_transfer(made.id)
            assert made.id not in [t.id for t in client.transfers()]

    try:
        await asyncio.to_thread(scenario)
    finally:
        await asyncio.to_thread(discard_new_rules, admin, playground.account, before)


async def test_the_list_during_a_rucio_outage_shows_the_last_known_progress(
    jp_fetch, facility, playground
):
    admin = admin_client(playground)
    did, _, origin = new_dataset(admin, playground.account, "SITE-A", [os.urandom(1024)])
    status, made = await call(
        jp_fetch, "POST", "replicas", {"did": did, "rse_expression": "SITE-B"}
    )
    assert status == 201, made
    try:
        facility.rucio.stop()
        try:
            status, listed = await call(jp_fetch, "GET", "replicas")
            assert status == 200, listed
            (shown,) = [r for r in listed["items"] if r["id"] == made["id"]]
            assert shown["did"] == did and shown["files_total"] == 1
            assert "Rucio did not answer" in shown["error"], shown
            status, one = await call(jp_fetch, "GET", f"replicas/{made['id']}")
            assert (status, one["error"]) == (503, "engine_unavailable"), one
        finally:
            facility.rucio.start()
        status, listed = await call(jp_fetch, "GET", "replicas")
        (shown,) = [r for r in listed["items"] if r["id"] == made["id"]]
        assert not shown.get("error"), shown
    finally:
        discard(admin, made["id"])
        discard(admin, origin)


async def test_a_rule_that_vanished_from_rucio(jp_fetch, playground):
    """Removed behind the extension's back (by an admin, or expired): the list says so, a direct
    look is 404."""
    admin = admin_client(playground)
    did, _, origin = new_dataset(admin, playground.account, "SITE-A", [os.urandom(1024)])
    status, made = await call(
        jp_fetch, "POST", "replicas", {"did": did, "rse_expression": "SITE-B"}
    )
    assert status == 201, made
    discard(admin, made["id"])  # expires now; judge-cleaner removes it from Rucio
    deadline = time.monotonic() + 60
    while True:
        status, one = await call(jp_fetch, "GET", f"replicas/{made['id']}")
        if status == 404 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert (status, one["error"]) == (404, "not_found"), one
    _, listed = await call(jp_fetch, "GET", "replicas")
    (shown,) = [r for r in listed["items"] if r["id"] == made["id"]]
    assert "no longer exists in Rucio" in shown["error"], shown
    discard(admin, origin)
