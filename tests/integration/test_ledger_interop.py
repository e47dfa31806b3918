"""A receipt from the playground's ledger verifies with verifiers that are not ours.

1. tlog-scales (PyPI, an independent Python implementation of C2SP signed notes, checkpoints and
   RFC 9162 proofs) parses the receipt's checkpoint, checks each of the three Ed25519 signatures
   against the published verifier keys, and checks the inclusion proof (its ``InclusionProof``
   is a literal translation of RFC 9162 section 2.1.3.2) and a consistency proof between two
   checkpoints (section 2.1.4.2).
2. A minimal verifier written here from RFC 9162's recursive definition of ``PATH`` (section
   2.1.3.1), not from the verification steps our code follows, recomputes the root.
The leaf is recomputed here from the entry with the standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.exceptions import InvalidSignature

from jupyter_wp5.ledger import LedgerClient, make_entry

tlog = pytest.importorskip("tlog_scales.tlog")
signing = pytest.importorskip("tlog_scales.signing")


def _leaf(entry: dict) -> bytes:
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"\x00" + canonical.encode()).digest()


def _root_from_path(leaf: bytes, m: int, n: int, path: list[bytes]) -> bytes:
    """RFC 9162 2.1.3.1: PATH(m, D[n]) is PATH(m, D[0:k]) : MTH(D[k:n]) for m < k, else
    PATH(m - k, D[k:n]) : MTH(D[0:k]), with k the largest power of two below n; the last element
    is the sibling at the top, so peel it off and recurse into the half that holds m."""
    if n == 1:
        assert path == [], "a one-leaf tree has an empty path"
        return leaf
    k = 1
    while k * 2 < n:
        k *= 2
    *inner, sibling = path
    if m < k:
        return hashlib.sha256(b"\x01" + _root_from_path(leaf, m, k, inner) + sibling).digest()
    return hashlib.sha256(b"\x01" + sibling + _root_from_path(leaf, m - k, n - k, inner)).digest()


@pytest.fixture
def receipt_and_keys(ledger_service) -> tuple[dict, list[str], LedgerClient]:
    info = ledger_service.info
    client = LedgerClient(info.url, token=info.token())
    client.append_many(
        [
            make_entry(
                "grant",
                request_id=f"req-{i}",
                steward="inaf-steward",
                grantee="leonardo-user",
                did="space:debris.catalogue",
                expires="2027-01-01T00:00:00Z",
                rses=["SITE-C"],
            )
            for i in range(6)
        ]
    )
    receipt = client.record(
        make_entry(
            "analysis_run",
            account="leonardo-user",
            inputs=[{"did": "space:debris.catalogue", "adler32": "1a2b3c4d"}],
            code_sha256=hashlib.sha256(b"code").hexdigest(),
            env_lock_sha256=hashlib.sha256(b"lock").hexdigest(),
            output_sha256=hashlib.sha256(b"output").hexdigest(),
        )
    )
    return receipt, list(info.verifier_keys), client


def test_tlog_scales_verifies_the_checkpoint_signatures_and_inclusion(receipt_and_keys) -> None:
    receipt, keys, _ = receipt_and_keys
    checkpoint = tlog.Checkpoint.from_text(receipt["checkpoint"])
    assert checkpoint.size == receipt["tree_size"]
    assert len(checkpoint.signatures) == 3
    for key in keys:
        checkpoint.verify(signing.Vkey.from_string(key))  # raises if it does not verify
    valid = signing.VkeySet(*(signing.Vkey.from_string(k) for k in keys)).verify(
        checkpoint.signatures, checkpoint
    )
    assert len(valid) == 3

    proof = [base64.b64decode(h) for h in receipt["inclusion_proof"]]
    inclusion = tlog.InclusionProof(receipt["leaf_index"], receipt["tree_size"], proof)
    inclusion.check(_leaf(receipt["entry"]), checkpoint.root_hash)
    tampered = dict(receipt["entry"], account="someone-else")
    with pytest.raises(tlog.InclusionProofInvalid):
        inclusion.check(_leaf(tampered), checkpoint.root_hash)


def test_tlog_scales_refuses_a_tampered_checkpoint(receipt_and_keys) -> None:
    receipt, keys, _ = receipt_and_keys
    note = receipt["checkpoint"]
    size = receipt["tree_size"]
    altered = tlog.Checkpoint.from_text(note.replace(f"\n{size}\n", f"\n{size + 1}\n", 1))
    with pytest.raises(InvalidSignature):
        altered.verify(signing.Vkey.from_string(keys[0]))


def test_tlog_scales_verifies_consistency_between_two_checkpoints(receipt_and_keys) -> None:
    receipt, _, client = receipt_and_keys
    old = tlog.Checkpoint.from_text(receipt["checkpoint"])
    client.append(
        make_entry("replica_ready", rule_id="rule-1", did="space:debris.catalogue", rse="SITE-C")
    )
    new = tlog.Checkpoint.from_text(client.checkpoint())
    proof = client.consistency_proof(old.size, new.size)
    tlog.ConsistencyProof(old.size, new.size, proof).check(old.root_hash, new.root_hash)
    with pytest.raises(tlog.ConsistencyProofInvalid):
        tlog.ConsistencyProof(old.size, new.size, proof).check(new.root_hash, new.root_hash)


def test_a_minimal_rfc9162_verifier_recomputes_the_root(receipt_and_keys) -> None:
    receipt, _, _ = receipt_and_keys
    root_line = receipt["checkpoint"].split("\n")[2]
    proof = [base64.b64decode(h) for h in receipt["inclusion_proof"]]
    root = _root_from_path(
        _leaf(receipt["entry"]), receipt["leaf_index"], receipt["tree_size"], proof
    )
    assert base64.b64encode(root).decode() == root_line
