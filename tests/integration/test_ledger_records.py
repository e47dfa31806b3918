"""What the access ledger records of copies, downloads and analysis runs made in process (the
kernel's in-process transport, as notebook 03's parties use), against the playground's real
Rucio and ledger; and the receipts of those entries, which verify offline and fail when altered.

The REST side of the same records is in tests/api/test_access_api.py and test_ledger_runs_api.py.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import awkward as ak
import hist
import pytest
from coffea import processor
from IPython.core.interactiveshell import InteractiveShell

import jupyter_wp5 as wp5
from jupyter_wp5.kernel.progress import wait
from jupyter_wp5.ledger import ReceiptError, verify
from jupyter_wp5.playground.communities import LEONARDO_USER, STEWARD
from jupyter_wp5.playground.parties import client_as
from jupyter_wp5.run_record import RunResult, code_sha256, env_lock_sha256, output_sha256
from tests.access_setup import DATASET
from tests.rucio_admin import admin_client, discard_new_rules, rule_ids

pytestmark = pytest.mark.rucio

SIGNAL = "cms:DYJetsToLL_M-50_NanoAODv9"


@pytest.fixture
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In-process services keep their requests and downloads under the test's directory."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WP5_SCRATCH", str(tmp_path / "scratch"))
    return tmp_path


@pytest.fixture
def party(playground, private_dirs):
    """``party(account)``: an in-process client acting as that playground account."""
    made = []

    def make(account: str):
        made.append(client_as(account, playground.root))
        return made[-1]

    yield make
    for client in made:
        client.close()


def _verified(playground, receipt: dict) -> dict:
    return verify(
        json.loads(json.dumps(receipt)), trusted_keys=playground.ledger.verifier_keys
    ).entry


def _cli_verify(playground, path: Path) -> subprocess.CompletedProcess[str]:
    keys = playground.ledger.keys_file
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_wp5.cli",
            "ledger",
            "verify",
            "--keys",
            str(keys),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _expiry(hours: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_in_process_copies_and_downloads_are_logged_with_receipts(playground, party, tmp_path):
    leonardo, steward = party(LEONARDO_USER), party(STEWARD)
    admin = admin_client(playground)
    before = rule_ids(admin, LEONARDO_USER)
    asked = leonardo.request_access(DATASET, "screening")
    request_id = asked["request"]["id"]
    steward.grant_access(request_id, _expiry(1))
    try:
        rule = leonardo.replicate(DATASET, "SITE-C", lifetime="30m")
        (made,) = rule.ledger_indexes
        entry = _verified(playground, leonardo.receipt(made))
        assert entry["event"] == "rule_created" and entry["rule_id"] == rule.id
        assert entry["account"] == LEONARDO_USER and entry["request_id"] == request_id
        assert entry["did"] == DATASET and entry["rse"] == "SITE-C"

        done = wait(lambda: leonardo.transfer(rule.id), rule, interval=0.5, timeout=120, bar=None)
        assert done.state.value == "OK", done
        again = leonardo.transfer(rule.id)
        # Recorded once: polling a complete copy again adds nothing.
        assert again.ledger_indexes == done.ledger_indexes and len(done.ledger_indexes) == 2
        ready = _verified(playground, leonardo.receipt(done.ledger_indexes[1]))
        assert ready["event"] == "replica_ready" and ready["rule_id"] == rule.id

        local = leonardo.replicate(DATASET, "SITE-C", download=True)
        local = wait(
            lambda: leonardo.transfer(local.id), local, interval=0.5, timeout=120, bar=None
        )
        assert local.state.value == "OK", local
        scope, name = DATASET.split(":")
        listed = {f"{f['scope']}:{f['name']}": f for f in admin.list_files(scope, name)}
        receipts = leonardo.receipts(local)
        entries = [_verified(playground, r) for r in receipts]
        assert len(entries) == len(listed) == local.files_ok
        for entry in entries:
            assert entry["event"] == "download" and entry["account"] == LEONARDO_USER
            assert entry["did"] == DATASET
            (file,) = entry["files"]
            assert file["adler32"] == listed[file["did"]]["adler32"]
            assert file["bytes"] == listed[file["did"]]["bytes"]
        assert {e["files"][0]["did"] for e in entries} == set(listed)

        # Offline, with the command line: the receipt verifies; an altered checksum fails.
        good, bad = tmp_path / "download.json", tmp_path / "tampered.json"
        good.write_text(json.dumps(receipts[0]))
        receipts[0]["entry"]["files"][0]["adler32"] = "00000000"
        bad.write_text(json.dumps(receipts[0]))
        assert _cli_verify(playground, good).returncode == 0
        refused = _cli_verify(playground, bad)
        assert refused.returncode != 0 and "altered" in refused.stdout + refused.stderr
        with pytest.raises(ReceiptError, match="altered"):
            verify(receipts[0], trusted_keys=playground.ledger.verifier_keys)

        # The same receipts from a kernel: %wp5 ledger receipt <the download's id>.
        shell = InteractiveShell.instance()
        wp5.api.set_client(client_as(LEONARDO_USER, playground.root))
        try:
            shell.run_line_magic("load_ext", "jupyter_wp5")
            shell.run_line_magic("wp5", f"ledger receipt {local.id} --out {tmp_path / 'kept'}")
        finally:
            wp5.api.set_client(None)
        kept = sorted((tmp_path / "kept").glob("receipt-*.json"))
        assert len(kept) == len(local.ledger_indexes)
        for path in kept:
            assert verify(path, trusted_keys=playground.ledger.verifier_keys).entry in entries
    finally:
        steward.revoke_access(request_id)
        discard_new_rules(admin, LEONARDO_USER, before)


class Dimuons(processor.ProcessorABC):
    def process(self, events):
        muons = events.Muon[ak.num(events.Muon) == 2]
        mass = (muons[:, 0] + muons[:, 1]).mass
        h = hist.Hist.new.Reg(40, 70, 110, name="mass").Double().fill(mass=ak.to_numpy(mass))
        return {"events": len(events), "mass": h}

    def postprocess(self, accumulator):
        return accumulator


def test_an_analysis_run_is_recorded_with_its_inputs_and_hashes(playground, private_dirs):
    client = client_as(playground.account, playground.root)
    wp5.api.set_client(client)  # closed by the set_client(None) below
    try:
        out = wp5.run(Dimuons(), SIGNAL, rse="SITE-A", progress=False)
        plain = wp5.run(Dimuons(), SIGNAL, rse="SITE-A", progress=False, record=False)
        receipt = out.receipt()
    finally:
        wp5.api.set_client(None)
    assert isinstance(out, RunResult) and out.ledger_index is not None
    assert type(plain) is dict and plain["events"] == out["events"]
    entry = _verified(playground, receipt)
    assert entry["event"] == "analysis_run" and entry["account"] == playground.account
    scope, name = SIGNAL.split(":")
    listed = admin_client(playground).list_files(scope, name)
    assert entry["inputs"] == sorted(
        ({"did": f"{f['scope']}:{f['name']}", "adler32": f["adler32"]} for f in listed),
        key=lambda i: i["did"],
    )
    assert entry["code_sha256"] == code_sha256(Dimuons())
    assert entry["env_lock_sha256"] == env_lock_sha256()
    # The same histograms in another run give the same output hash.
    assert entry["output_sha256"] == output_sha256(plain) == output_sha256(dict(out))

    receipt["entry"]["output_sha256"] = output_sha256({**plain, "events": plain["events"] + 1})
    with pytest.raises(ReceiptError, match="altered"):
        verify(receipt, trusted_keys=playground.ledger.verifier_keys)
