"""The server's check of the ledger's latest checkpoint, which the panel's badge shows: verified
only with the operator's and both witnesses' signatures over an unaltered note, and otherwise a
reason a person can act on, with the tree size still named."""

from __future__ import annotations

import hashlib

from jupyter_wp5.communities.ledger import check_checkpoint
from jupyter_wp5.ledger.note import Checkpoint, Signer, sign_note

OPERATOR = Signer.generate("wp5.example/log")
INAF = Signer.generate("inaf-witness")
LEONARDO = Signer.generate("leonardo-witness")
KEYS = [str(s.verifier) for s in (OPERATOR, INAF, LEONARDO)]
TEXT = Checkpoint("wp5.example/log", 42, hashlib.sha256(b"root").digest()).text()


def test_a_fully_cosigned_checkpoint_verifies_and_names_size_and_signers() -> None:
    result = check_checkpoint(sign_note(TEXT, OPERATOR, INAF, LEONARDO), KEYS, "configured")
    assert result == {
        "verified": True,
        "tree_size": 42,
        "operator": "wp5.example/log",
        "witnesses": ["inaf-witness", "leonardo-witness"],
        "keys": "configured",
        "reason": None,
    }


def test_a_missing_witness_signature_fails_and_says_whose() -> None:
    result = check_checkpoint(sign_note(TEXT, OPERATOR, INAF), KEYS, "configured")
    assert not result["verified"]
    assert result["tree_size"] == 42
    assert "leonardo-witness" in result["reason"]


def test_an_altered_checkpoint_fails() -> None:
    note = sign_note(TEXT, OPERATOR, INAF, LEONARDO).replace("\n42\n", "\n43\n", 1)
    result = check_checkpoint(note, KEYS, "published")
    assert not result["verified"] and result["keys"] == "published"
    assert result["tree_size"] == 43
    assert "altered" in result["reason"]


def test_a_signature_by_an_unknown_key_fails() -> None:
    stranger = Signer.generate("inaf-witness")
    result = check_checkpoint(sign_note(TEXT, OPERATOR, stranger, LEONARDO), KEYS, "configured")
    assert not result["verified"]
    assert "unknown key" in result["reason"]


def test_no_checkpoint_yet_is_not_verified() -> None:
    result = check_checkpoint(None, KEYS, "configured")
    assert not result["verified"] and result["tree_size"] is None
    assert result["reason"] == "the ledger has no checkpoint yet"
