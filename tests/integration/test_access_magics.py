"""``%wp5 access``, ``%wp5 use`` and ``%wp5 ledger`` in a real ipykernel, through a real Jupyter
server acting as Leonardo's user, over the playground's real Rucio, policy package and ledger.

INAF's steward decides through the same access service with the steward's own Rucio account
(``tests/access_setup.py``), between the two notebooks the Leonardo user runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jupyter_wp5.playground.communities import LEONARDO_USER, STEWARD
from tests import access_setup
from tests.access_setup import DATASET
from tests.rucio_admin import admin_client, discard_new_rules, rule_ids

from .test_kernel_magics import run_notebook

# The server acts as Leonardo's user; INAF's steward decides through its own service.
jp_server_config = access_setup.jp_server_config
steward = access_setup.steward

pytestmark = pytest.mark.rucio


def _clean(cell) -> None:
    assert not cell.errors, cell.text
    assert "wp5:" not in cell.stderr, cell.stderr


def _error_line(cell) -> str:
    assert not cell.errors, cell.text
    lines = [line for line in cell.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("wp5: "), cell.stderr
    return lines[0]


async def test_request_grant_use_copy_and_verify_in_a_kernel(
    playground, jp_serverapp, http_server, steward, tmp_path: Path
) -> None:
    _, asked, listed, self_grant, wrong_use = await run_notebook(
        tmp_path,
        "%load_ext jupyter_wp5",
        f'asked = %wp5 access request {DATASET} --purpose "conjunction screening"\n'
        'rid = asked[0]["id"]',
        "%wp5 access list",
        "%wp5 access grant $rid",
        "%wp5 use inaf",
    )
    _clean(asked)
    request_id = re.search(r"request ([0-9a-f]{16}), pending", asked.text).group(1)
    assert "salt" in asked.text and "conjunction screening" not in asked.text
    _clean(listed)
    assert f"account {LEONARDO_USER} (leonardo)" in listed.text
    row = next(line for line in listed.text.splitlines() if request_id in line)
    assert DATASET in row and "pending" in row
    # A Leonardo user can grant nothing: the refusal names who may.
    assert STEWARD in _error_line(self_grant)
    assert "not in community inaf" in _error_line(wrong_use)

    granted = await steward.grant(request_id, "2099-01-01T00:00:00Z")
    admin = admin_client(playground)
    before = rule_ids(admin, LEONARDO_USER)
    receipt = tmp_path / f"receipt-{granted.ledger_index}.json"
    tampered = tmp_path / "tampered.json"
    try:
        cells = await run_notebook(
            tmp_path,
            "%load_ext jupyter_wp5",
            "%wp5 use leonardo",
            "%wp5 search debris*",
            "%wp5 replicate space:debris_catalogue_2026 --lifetime 30m",
            "%wp5 access list",
            f"%wp5 ledger receipt {granted.ledger_index}",
            f"%wp5 ledger verify {receipt.name}",
            "import json\n"
            f"r = json.load(open({receipt.name!r}))\n"
            "r['entry']['grantee'] = 'someone-else'\n"
            f"json.dump(r, open({tampered.name!r}, 'w'))",
            f"%wp5 ledger verify {tampered.name}",
            "%wp5 ledger checkpoint",
        )
    finally:
        # Leave the shared playground as found: no live grant, no rule of this test.
        await steward.revoke(request_id)
        discard_new_rules(admin, LEONARDO_USER, before)
    _, use, search, copy, relisted, saved, good, _, bad, checkpoint = cells
    for cell in (use, search, copy, relisted, saved, good, checkpoint):
        _clean(cell)
    assert "using community leonardo" in use.text and "space" in use.text
    assert "copies go to SITE-C" in use.text
    assert DATASET in search.text  # the bare pattern searched the granted scope
    assert "at SITE-C" in copy.text  # the community's storage element, no --to given
    row = next(line for line in relisted.text.splitlines() if request_id in line)
    assert "granted" in row and STEWARD in row

    entry = json.loads(receipt.read_text())["entry"]
    assert entry["event"] == "grant" and entry["request_id"] == request_id
    assert f"OK {receipt.name}: entry {granted.ledger_index} (grant)" in good.text
    assert "cosigned by" in good.text
    line = _error_line(bad)
    assert f"FAILED {tampered.name}" in line and "altered" in line
    assert "verified: " in checkpoint.text and "witness-inaf" in checkpoint.text
    assert "witness-leonardo" in checkpoint.text
