"""The log, its witnesses and receipts, in-process over a real SQLite store: receipts verify,
and every kind of tampering of the issue is caught with a message that says what happened."""

from __future__ import annotations

import base64
import copy
import sqlite3
from pathlib import Path

import pytest

from jupyter_wp5.ledger.entries import canonical_json, make_entry
from jupyter_wp5.ledger.log import LedgerLog, WitnessFailure
from jupyter_wp5.ledger.merkle import leaf_hash
from jupyter_wp5.ledger.note import Signer, parse_note, sign_note
from jupyter_wp5.ledger.protocol import WitnessRefusal
from jupyter_wp5.ledger.receipt import (
    ReceiptError,
    verify,
    verify_checkpoint,
    verify_entries,
    verify_extension,
)
from jupyter_wp5.ledger.store import LogStore
from jupyter_wp5.ledger.witness import Witness

ORIGIN = "test.example/ledger"


def _entry(i: int) -> dict:
    return make_entry(
        "download",
        account="leonardo-user",
        did="space:debris.catalogue",
        files=[{"did": f"space:part-{i}.parquet", "adler32": f"{i:08x}"}],
    )


class Parties:
    """The operator's key and the two witnesses, shared by the logs of one test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.operator = Signer.generate(ORIGIN)
        self.inaf = Witness(
            Signer.generate("test.example/witness-inaf"), self.operator.verifier, root / "inaf.json"
        )
        self.leonardo = Witness(
            Signer.generate("test.example/witness-leonardo"),
            self.operator.verifier,
            root / "leonardo.json",
        )

    def log(self, name: str = "log", witnesses: list[Witness] | None = None) -> LedgerLog:
        witnesses = [self.inaf, self.leonardo] if witnesses is None else witnesses
        return LedgerLog(LogStore(self.root / f"{name}.sqlite"), self.operator, witnesses)

    @property
    def keys(self) -> list[str]:
        return [str(self.operator.verifier), str(self.inaf.key), str(self.leonardo.key)]


@pytest.fixture
def parties(tmp_path: Path) -> Parties:
    return Parties(tmp_path)


def test_a_receipt_verifies_offline_and_names_the_signers(parties: Parties) -> None:
    log = parties.log()
    log.append([_entry(i) for i in range(5)])
    receipt = log.receipt(3)
    result = verify(receipt)
    assert result.leaf_index == 3 and result.checkpoint.size == 5
    assert result.operator == ORIGIN
    assert result.witnesses == ["test.example/witness-inaf", "test.example/witness-leonardo"]
    assert result.entry == _entry(3) | {"time": result.entry["time"]}
    # Pinned to the published keys, too.
    verify(receipt, trusted_keys=parties.keys)
    # The witnesses keep what they cosigned.
    assert parties.inaf.size == parties.leonardo.size == 5


def test_the_log_survives_a_restart(parties: Parties) -> None:
    log = parties.log()
    log.append([_entry(i) for i in range(3)])
    first = log.checkpoint()
    log.store.close()
    again = parties.log()
    assert again.store.tree.root(3) == log.store.tree.root(3)
    again.append([_entry(3)])
    verify(again.receipt(3))
    verify_extension(
        first, again.checkpoint(), again.store.tree.consistency_proof(3, 4), parties.keys
    )


def test_an_altered_entry_is_detected(parties: Parties) -> None:
    log = parties.log()
    log.append([_entry(i) for i in range(4)])
    receipt = copy.deepcopy(log.receipt(1))
    receipt["entry"]["account"] = "inaf-steward"
    with pytest.raises(ReceiptError, match=r"not at leaf 1 .*entry, its position or the proof"):
        verify(receipt)


def test_a_removed_or_reordered_entry_is_detected(parties: Parties) -> None:
    log = parties.log()
    entries = [_entry(i) for i in range(6)]
    log.append(entries)
    note = log.checkpoint()
    verify_entries(entries, note, parties.keys)
    with pytest.raises(ReceiptError, match="altered, removed, inserted or reordered"):
        verify_entries([*entries[:2], *entries[3:], _entry(9)], note, parties.keys)
    with pytest.raises(ReceiptError, match="altered, removed, inserted or reordered"):
        verify_entries([entries[1], entries[0], *entries[2:]], note, parties.keys)
    with pytest.raises(ReceiptError, match="only 5 entries"):
        verify_entries(entries[:-1], note, parties.keys)
    # A receipt moved to another position does not verify either.
    receipt = log.receipt(2)
    receipt["leaf_index"] = 3
    with pytest.raises(ReceiptError, match="not at leaf 3"):
        verify(receipt)


def test_a_checkpoint_that_does_not_extend_the_previous_one_is_refused(parties: Parties) -> None:
    log = parties.log()
    log.append([_entry(i) for i in range(4)])
    old = log.checkpoint()
    log.store.close()
    # Someone rewrites history in the database: entry 1 is removed and the rest move up.
    with sqlite3.connect(log.store.path) as db:
        db.execute("DELETE FROM leaves WHERE idx = 1")
        db.execute("UPDATE leaves SET idx = idx - 1 WHERE idx > 1")
    rewritten = parties.log()
    rewritten.append([_entry(7), _entry(8)])
    with pytest.raises(WitnessFailure, match="does not extend the checkpoint of size 4"):
        rewritten.checkpoint()
    # A client that kept the old checkpoint sees it too, with a checkpoint signed by the
    # operator and the witnesses' keys forged out of the picture: no consistency proof works.
    text = f"{ORIGIN}\n5\n{base64.b64encode(rewritten.store.tree.root()).decode()}\n"
    new = sign_note(text, parties.operator, parties.inaf.signer, parties.leonardo.signer)
    with pytest.raises(ReceiptError, match="size 5 does not extend the previous one of size 4"):
        verify_extension(old, new, rewritten.store.tree.consistency_proof(4, 5), parties.keys)


def test_a_fork_shown_to_the_two_witnesses_is_caught(parties: Parties) -> None:
    """The log shows INAF one history and Leonardo another: each witness cosigns only what it
    was shown, so no checkpoint of either history counts, and the witness refuses the other."""
    history_a = parties.log("a", witnesses=[parties.inaf])
    history_b = parties.log("b", witnesses=[parties.leonardo])
    history_a.append([_entry(i) for i in range(3)])
    history_b.append([_entry(i) for i in (0, 1, 5)])
    receipt_a, receipt_b = history_a.receipt(2), history_b.receipt(2)
    keys = parties.keys
    with pytest.raises(ReceiptError, match=r"lacks the signature of witness .*witness-leonardo"):
        verify(receipt_a, trusted_keys=keys)
    with pytest.raises(ReceiptError, match=r"lacks the signature of witness .*witness-inaf"):
        verify(receipt_b, trusted_keys=keys)
    # Shown the other history, each witness refuses: a fork at the same size.
    note_b = sign_note(parse_note(receipt_b["checkpoint"])[0], parties.operator)
    with pytest.raises(WitnessRefusal, match="does not extend") as refused:
        parties.inaf.add_checkpoint(3, [], note_b)
    assert refused.value.status == 422
    assert "fork" in str(refused.value)


def test_a_signature_by_an_unknown_key_is_detected(parties: Parties) -> None:
    log = parties.log()
    log.append([_entry(0), _entry(1)])
    receipt = log.receipt(1)
    text, _ = parse_note(receipt["checkpoint"])
    impostor = Signer.generate("test.example/witness-leonardo")
    forged = sign_note(text, parties.operator, parties.inaf.signer, impostor)
    with pytest.raises(ReceiptError, match=r"unknown key: test\.example/witness-leonardo"):
        verify(receipt | {"checkpoint": forged})
    # A receipt rewritten wholesale with the forger's keys only passes on its own terms; pinned
    # to the published keys it fails.
    evil = [Signer.generate(ORIGIN), Signer.generate("a/w1"), Signer.generate("a/w2")]
    fake_entry = _entry(42)
    fake_text = f"{ORIGIN}\n1\n{base64.b64encode(leaf_hash(canonical_json(fake_entry))).decode()}\n"
    fake = {
        "entry": fake_entry,
        "leaf_index": 0,
        "tree_size": 1,
        "inclusion_proof": [],
        "checkpoint": sign_note(fake_text, *evil),
        "verifier_keys": [str(s.verifier) for s in evil],
    }
    verify(fake)
    with pytest.raises(ReceiptError, match="unknown key"):
        verify(fake, trusted_keys=parties.keys)


def test_the_witness_refuses_what_it_cannot_check(parties: Parties) -> None:
    log = parties.log()
    log.append([_entry(0)])
    note = log.checkpoint()
    text, _ = parse_note(note)
    with pytest.raises(WitnessRefusal, match="no valid signature by the log's key") as err:
        parties.inaf.add_checkpoint(1, [], sign_note(text, Signer.generate(ORIGIN)))
    assert err.value.status == 403
    with pytest.raises(WitnessRefusal, match="unknown log") as err:
        other = Signer.generate("other.example/log")
        parties.inaf.add_checkpoint(
            1, [], sign_note(f"other.example/log\n1\n{text.split()[2]}\n", other)
        )
    assert err.value.status == 404
    with pytest.raises(WitnessRefusal) as err:
        parties.inaf.add_checkpoint(0, [], note)
    assert err.value.status == 409 and err.value.size == 1


def test_missing_signatures_and_altered_checkpoints_fail(parties: Parties) -> None:
    log = parties.log()
    log.append([_entry(0), _entry(1)])
    receipt = log.receipt(0)
    text, sigs = parse_note(receipt["checkpoint"])
    only_operator = text + "\n" + sigs[0].line()
    with pytest.raises(ReceiptError, match="lacks the signature of witness"):
        verify(receipt | {"checkpoint": only_operator})
    altered = receipt["checkpoint"].replace(f"{ORIGIN}\n2\n", f"{ORIGIN}\n3\n")
    with pytest.raises(ReceiptError, match="does not verify: the checkpoint was altered"):
        verify(receipt | {"checkpoint": altered, "tree_size": 3})
    with pytest.raises(ReceiptError, match="counts only with 2 witnesses"):
        verify_checkpoint(receipt["checkpoint"], parties.keys[:2])


def test_the_log_keeps_no_cosignature_that_does_not_verify(parties: Parties) -> None:
    """A misbehaving witness (a stand-in that signs with another key) gets nothing stored."""

    class WrongKeyWitness:
        name = parties.leonardo.name
        key = parties.leonardo.key

        def add_checkpoint(self, old_size: int, proof: list[bytes], note: str) -> str:
            return Signer.generate(self.name).signature_line(parse_note(note)[0])

    log = parties.log(witnesses=[parties.inaf, WrongKeyWitness()])
    log.append([_entry(0)])
    with pytest.raises(WitnessFailure, match="witness-leonardo answered with no valid signature"):
        log.checkpoint()
    assert log.store.latest_checkpoint() is None
