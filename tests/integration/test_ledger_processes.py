"""The ledger as the playground runs it: a log process and two witness processes on loopback.

Entries are appended over HTTP, receipts come back cosigned by the operator, INAF and Leonardo,
and they verify offline with ``jupyter wp5 ledger verify`` and ``jupyter_wp5.ledger.verify``;
a rogue log that shows the witnesses another history is refused by them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from jupyter_wp5.ledger import LedgerClient, LedgerHTTPError, ReceiptError, make_entry, verify
from jupyter_wp5.ledger.note import Checkpoint, parse_note, sign_note
from jupyter_wp5.playground.info import LedgerInfo
from jupyter_wp5.playground.ledger import ORIGIN, PlaygroundLedger, log_command
from jupyter_wp5.playground.processes import ProcessRegistry, free_ports, wait_until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def ledger(ledger_service: PlaygroundLedger) -> PlaygroundLedger:
    return ledger_service


@pytest.fixture
def processes(ledger_service: PlaygroundLedger) -> ProcessRegistry:
    return ledger_service.processes


@pytest.fixture
def info(ledger_service: PlaygroundLedger) -> LedgerInfo:
    assert ledger_service.info is not None
    return ledger_service.info


def _download(i: int) -> dict:
    return make_entry(
        "download",
        account="leonardo-user",
        did="space:debris.catalogue",
        files=[{"did": f"space:debris-{i}.parquet", "adler32": f"{i:08x}"}],
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_wp5.cli", "ledger", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_keys_are_private_and_published(ledger: PlaygroundLedger, info: LedgerInfo) -> None:
    keys = ledger.root / "keys"
    for name in ("log.key", "witness-inaf.key", "witness-leonardo.key"):
        assert (keys / name).stat().st_mode & 0o777 == 0o600
        assert "PRIVATE+KEY+" in (keys / name).read_text()
    assert info.token_file.stat().st_mode & 0o777 == 0o600
    assert keys.stat().st_mode & 0o777 == 0o700
    published = info.keys_file.read_text().split()
    assert published == info.verifier_keys
    assert published == LedgerClient(info.url, token=info.token()).verifier_keys()
    assert published[0].startswith(ORIGIN + "+")
    assert not any("PRIVATE" in k for k in published)


def test_appended_entries_get_receipts_that_verify_offline(
    info: LedgerInfo, tmp_path: Path
) -> None:
    client = LedgerClient(info.url, token=info.token())
    first = client.append_many([_download(i) for i in range(5)])
    receipt = client.record(_download(99))
    assert receipt["leaf_index"] == first + 5
    assert receipt["tree_size"] == first + 6
    assert verify(receipt, trusted_keys=info.verifier_keys).witnesses == [
        "jupyter-wp5.playground/witness-inaf",
        "jupyter-wp5.playground/witness-leonardo",
    ]
    # Receipts of earlier entries use the same cosigned checkpoint.
    earlier = client.receipt(first + 1)
    assert earlier["checkpoint"] == receipt["checkpoint"]
    assert earlier["entry"]["files"][0]["did"] == "space:debris-1.parquet"

    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt, indent=1))
    done = _cli("verify", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: entry" in done.stdout and "witness-leonardo" in done.stdout
    assert _cli("verify", "--keys", str(info.keys_file), str(path)).returncode == 0
    assert verify(path).leaf_index == first + 5

    receipt["entry"]["account"] = "someone-else"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(receipt))
    done = _cli("verify", str(path), str(tampered))
    assert done.returncode == 1
    assert f"{tampered}: FAILED: the entry is not at leaf {first + 5}" in done.stdout
    assert f"{path}: OK" in done.stdout


def test_the_log_refuses_bad_entries_and_ranges(info: LedgerInfo) -> None:
    with pytest.raises(LedgerHTTPError) as err:
        LedgerClient(info.url).append(_download(0))
    assert err.value.status == 401
    with pytest.raises(LedgerHTTPError) as err:
        LedgerClient(info.url, token="wrong").append(_download(0))
    assert err.value.status == 401
    client = LedgerClient(info.url, token=info.token())
    with pytest.raises(LedgerHTTPError) as err:
        client.append({"v": 1, "event": "download", "time": "2026-01-01T00:00:00Z"})
    assert err.value.status == 400 and "account is missing" in err.value.message
    with pytest.raises(LedgerHTTPError) as err:
        client.inclusion_proof(10**6, 10**6 + 1)
    assert err.value.status == 400


def test_ledger_verify_has_help() -> None:
    done = _cli("verify", "--help")
    assert done.returncode == 0
    assert "--keys" in done.stdout and "offline" in done.stdout
    assert "verify" in _cli("--help").stdout


def test_a_rogue_log_with_another_history_gets_no_cosignature(
    ledger: PlaygroundLedger, info: LedgerInfo, processes: ProcessRegistry, tmp_path: Path
) -> None:
    """The operator's key runs a second log with a different history and asks the same
    witnesses: both refuse, so no checkpoint of the rogue history ever counts."""
    honest = LedgerClient(info.url, token=info.token())
    honest.record(_download(1000))
    size = Checkpoint.parse(parse_note(honest.latest_checkpoint())[0]).size
    port = free_ports(1)[0]
    proc = processes.spawn(
        "rogue-log",
        log_command(
            ledger.root / "keys" / "log.key",
            tmp_path / "rogue.sqlite",
            list(info.witnesses.values()),
            port,
        ),
    )
    rogue = LedgerClient(f"http://127.0.0.1:{port}")  # no --token-file: anyone may append

    def up() -> bool:
        try:
            rogue.verifier_keys()
        except OSError:
            return False
        return True

    wait_until(up, 30, "rogue log", proc=proc)
    try:
        rogue.append_many([_download(-i - 1 + 2000) for i in range(size + 2)])
        with pytest.raises(LedgerHTTPError) as err:
            rogue.checkpoint()
        assert err.value.status == 502
        assert "witness jupyter-wp5.playground/witness-inaf refused" in err.value.message
        assert f"does not extend the checkpoint of size {size}" in err.value.message
    finally:
        processes.stop("rogue-log")
    # The honest log goes on.
    verify(honest.record(_download(1001)), trusted_keys=info.verifier_keys)


def _post(url: str, body: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_the_witness_speaks_tlog_witness_status_codes(
    ledger: PlaygroundLedger, info: LedgerInfo
) -> None:
    from jupyter_wp5.ledger.note import Signer

    witness = info.witnesses["leonardo"] + "/add-checkpoint"
    note = LedgerClient(info.url, token=info.token()).checkpoint()
    cp = Checkpoint.parse(parse_note(note)[0])
    assert _post(witness, "garbage")[0] == 400
    forged = sign_note(cp.text(), Signer.generate(ORIGIN))
    status, text = _post(witness, f"old {cp.size}\n\n{forged}")
    assert status == 403 and "no valid signature by the log's key" in text
    status, text = _post(witness, f"old 0\n\n{note}")
    assert (status, text.strip()) == (409, str(cp.size))
    # Re-submitting what it cosigned is fine (a consistent, equal-size checkpoint).
    status, text = _post(witness, f"old {cp.size}\n\n{note}")
    assert status == 200 and text.startswith("\u2014 jupyter-wp5.playground/witness-leonardo ")


def test_the_log_and_witnesses_keep_their_state_across_a_restart(
    ledger: PlaygroundLedger, info: LedgerInfo
) -> None:
    before = LedgerClient(info.url, token=info.token()).record(_download(3000))
    ledger.stop()
    again = ledger.start()
    assert again.verifier_keys == info.verifier_keys
    after = LedgerClient(again.url, token=again.token()).record(_download(3001))
    assert after["leaf_index"] == before["leaf_index"] + 1
    verify(after, trusted_keys=info.verifier_keys)
    with pytest.raises(ReceiptError):
        verify(after | {"leaf_index": before["leaf_index"]})


@pytest.mark.rucio
def test_the_playground_runs_the_ledger(facility) -> None:
    from jupyter_wp5.playground.info import FacilityInfo

    info = facility.info
    assert info.ledger is not None
    assert FacilityInfo.read(info.root / "facility.json").ledger == info.ledger
    for name in ("ledger-log", "ledger-witness-inaf", "ledger-witness-leonardo"):
        assert facility.processes.get(name).running()
    receipt = LedgerClient(info.ledger.url, token=info.ledger.token()).record(_download(1))
    trusted = info.ledger.keys_file.read_text().split()
    assert verify(receipt, trusted_keys=trusted).operator == ORIGIN
