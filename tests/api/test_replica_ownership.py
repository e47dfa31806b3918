"""Request ids that are not the user's: 404 from the user's own request store, before any Rucio
call, never Rucio's 401 dressed up as a 502 "refused the credentials"."""

from __future__ import annotations

import time

import pytest

from tests.rucio_admin import admin_client, discard

from .contract import call

DATASET = "cms:TTTo2L2Nu_NanoAODv9"
pytestmark = pytest.mark.timeout(180)


def rucio_log(facility) -> list[str]:
    """The playground's Rucio server log: werkzeug writes one line per request."""
    return (facility.root / "logs" / "rucio-server.log").read_text(errors="replace").splitlines()


async def _refused_everywhere(jp_fetch, rule_id: str) -> None:
    for method, body in (("GET", None), ("PATCH", {"lifetime": "30d"}), ("DELETE", None)):
        status, answer = await call(jp_fetch, method, f"replicas/{rule_id}", body)
        assert (status, answer["error"]) == (404, "not_found"), (method, answer)
    _, listed = await call(jp_fetch, "GET", "replicas")
    assert rule_id not in [r["id"] for r in listed["items"]]


async def test_an_id_never_requested_is_404_without_asking_rucio(jp_fetch, facility):
    rule_id = "0123456789abcdef0123456789abcdef"
    logged = len(rucio_log(facility))
    await _refused_everywhere(jp_fetch, rule_id)
    assert not [line for line in rucio_log(facility)[logged:] if rule_id in line]


async def test_another_accounts_rule_is_404_and_stays_as_it_was(jp_fetch, facility, playground):
    admin = admin_client(playground)
    scope, name = DATASET.split(":")
    (rule_id,) = admin.add_replication_rule(
        dids=[{"scope": scope, "name": name}],
        copies=1,
        rse_expression="SITE-C",
        lifetime=86400,
        account="root",
        comment="not jovyan's",
    )
    try:
        before = admin.get_replication_rule(rule_id)
        logged = len(rucio_log(facility))
        await _refused_everywhere(jp_fetch, rule_id)
        assert not [line for line in rucio_log(facility)[logged:] if rule_id in line]
        after = admin.get_replication_rule(rule_id)
        assert (after["expires_at"], after["state"]) == (before["expires_at"], before["state"])
    finally:
        discard(admin, rule_id)


async def test_own_request_whose_rule_rucio_no_longer_has_is_404_not_502(jp_fetch, playground):
    status, made = await call(
        jp_fetch, "POST", "replicas", {"did": DATASET, "rse_expression": "SITE-B", "lifetime": "1d"}
    )
    assert status == 201, made
    admin = admin_client(playground)
    # An admin removes the rule for good behind the user's back (as an expiry would).
    discard(admin, made["id"])
    deadline = time.monotonic() + 60
    while made["id"] in {r["id"] for r in admin.list_replication_rules({"account": "jovyan"})}:
        assert time.monotonic() < deadline, "judge-cleaner did not remove the rule"
        time.sleep(0.5)

    # Rucio answers 401 to the update and the delete of a rule it cannot find.
    status, answer = await call(jp_fetch, "PATCH", f"replicas/{made['id']}", {"lifetime": "7d"})
    assert (status, answer["error"]) == (404, "not_found"), answer
    status, answer = await call(jp_fetch, "DELETE", f"replicas/{made['id']}")
    assert (status, answer["error"]) == (404, "not_found"), answer
    # The request is forgotten with its rule.
    status, _ = await call(jp_fetch, "GET", f"replicas/{made['id']}")
    assert status == 404
