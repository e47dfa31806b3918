"""Receipts: one JSON object that proves an entry is in the log, checkable offline.

``{"entry", "leaf_index", "tree_size", "inclusion_proof": [base64], "checkpoint": "<signed note>",
"verifier_keys": ["name+hash+base64", ...]}``. :func:`verify` needs nothing but the receipt (and,
to pin the keys, the published verifier keys): it recomputes the leaf from the entry's canonical
JSON, walks the inclusion proof to the checkpoint's root, and checks that the checkpoint carries a
valid signature of the log operator (the key named like the checkpoint's origin) and of every
witness, with no signature by any other key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .entries import EntryError, canonical_json
from .merkle import MerkleTree, ProofError, leaf_hash, verify_consistency, verify_inclusion
from .note import Checkpoint, NoteError, VerifierKey, parse_note

__all__ = [
    "ReceiptError",
    "VerifiedReceipt",
    "make_receipt",
    "verify",
    "verify_checkpoint",
    "verify_entries",
    "verify_extension",
]

MIN_WITNESSES = 2  # INAF's and Leonardo's


class ReceiptError(ValueError):
    """A receipt that does not verify; the message says what is wrong."""


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a valid receipt proves."""

    entry: dict[str, Any]
    leaf_index: int
    checkpoint: Checkpoint
    operator: str
    witnesses: list[str]

    def summary(self) -> str:
        """One line for people."""
        return (
            f"entry {self.leaf_index} ({self.entry.get('event')}) is in {self.checkpoint.origin} "
            f"at size {self.checkpoint.size}, signed by {self.operator} and cosigned by "
            f"{', '.join(self.witnesses)}"
        )


def make_receipt(
    entry: Mapping[str, Any],
    leaf_index: int,
    tree_size: int,
    inclusion_proof: Iterable[bytes],
    checkpoint: str,
    verifier_keys: Iterable[str],
) -> dict[str, Any]:
    """Assemble a receipt (as a JSON-able dict)."""
    return {
        "entry": dict(entry),
        "leaf_index": leaf_index,
        "tree_size": tree_size,
        "inclusion_proof": [base64.b64encode(h).decode() for h in inclusion_proof],
        "checkpoint": checkpoint,
        "verifier_keys": [str(k) for k in verifier_keys],
    }


def _parse_keys(keys: Iterable[str | VerifierKey]) -> list[VerifierKey]:
    parsed = []
    for key in keys:
        try:
            parsed.append(key if isinstance(key, VerifierKey) else VerifierKey.parse(key))
        except NoteError as err:
            raise ReceiptError(f"bad verifier key: {err}") from None
    return parsed


def verify_checkpoint(
    note: str,
    keys: Iterable[str | VerifierKey],
    min_witnesses: int = MIN_WITNESSES,
) -> tuple[Checkpoint, str, list[str]]:
    """Check a cosigned checkpoint against ``keys``: the operator's key (named like the origin)
    and at least ``min_witnesses`` witness keys must all have signed it, and nobody else.

    Returns the checkpoint, the operator's key name and the witnesses' key names.
    """
    verifier_keys = _parse_keys(keys)
    try:
        text, signatures = parse_note(note)
        checkpoint = Checkpoint.parse(text)
    except NoteError as err:
        raise ReceiptError(f"malformed checkpoint: {err}") from None
    operator = [k for k in verifier_keys if k.name == checkpoint.origin]
    witnesses = [k for k in verifier_keys if k.name != checkpoint.origin]
    if len(operator) != 1:
        raise ReceiptError(f"no single verifier key for the log {checkpoint.origin!r}")
    if len(witnesses) < min_witnesses:
        raise ReceiptError(
            f"a checkpoint counts only with {min_witnesses} witnesses; "
            f"{len(witnesses)} witness key(s) given"
        )
    unknown = [s for s in signatures if not any(s.by(k) for k in verifier_keys)]
    if unknown:
        names = ", ".join(f"{s.name} (key hash {s.key_hash.hex()})" for s in unknown)
        raise ReceiptError(f"the checkpoint carries a signature by an unknown key: {names}")
    for key in [*operator, *witnesses]:
        role = "the log operator" if key in operator else "witness"
        mine = [s for s in signatures if s.by(key)]
        if not mine:
            raise ReceiptError(f"the checkpoint lacks the signature of {role} {key.name}")
        if not all(key.verify(text.encode(), s.signature) for s in mine):
            raise ReceiptError(
                f"the signature of {role} {key.name} does not verify: the checkpoint was altered"
            )
    return checkpoint, operator[0].name, [k.name for k in witnesses]


def _load(receipt: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(receipt, Mapping):
        return receipt
    try:
        value = json.loads(Path(receipt).read_text())
    except OSError as err:
        raise ReceiptError(f"cannot read {receipt}: {err.strerror}") from None
    except ValueError:
        raise ReceiptError(f"{receipt} is not JSON") from None
    if not isinstance(value, Mapping):
        raise ReceiptError("a receipt is a JSON object")
    return value


def verify(
    receipt: str | Path | Mapping[str, Any],
    trusted_keys: Iterable[str | VerifierKey] | None = None,
    min_witnesses: int = MIN_WITNESSES,
) -> VerifiedReceipt:
    """Verify a receipt (a path to its JSON file, or the parsed dict) offline.

    ``trusted_keys``: the published verifier keys to check against instead of the receipt's own
    ``verifier_keys`` (pin them: a receipt's own keys only show that it is self-consistent).
    Raises :class:`ReceiptError` with the reason when it does not verify.
    """
    data = _load(receipt)
    missing = [
        k
        for k in ("entry", "leaf_index", "tree_size", "inclusion_proof", "checkpoint")
        if k not in data
    ]
    if trusted_keys is None and "verifier_keys" not in data:
        missing.append("verifier_keys")
    if missing:
        raise ReceiptError(f"the receipt lacks {', '.join(missing)}")
    keys = list(trusted_keys) if trusted_keys is not None else list(data["verifier_keys"])
    checkpoint, operator, witnesses = verify_checkpoint(data["checkpoint"], keys, min_witnesses)

    index, size = data["leaf_index"], data["tree_size"]
    if not isinstance(index, int) or not isinstance(size, int) or isinstance(index, bool):
        raise ReceiptError("leaf_index and tree_size must be integers")
    if size != checkpoint.size:
        raise ReceiptError(f"tree_size {size} is not the checkpoint's size {checkpoint.size}")
    try:
        proof = [base64.b64decode(h, validate=True) for h in data["inclusion_proof"]]
    except (binascii.Error, ValueError, TypeError):
        raise ReceiptError("the inclusion proof is not a list of base64 hashes") from None
    entry = data["entry"]
    if not isinstance(entry, Mapping):
        raise ReceiptError("the entry is not a JSON object")
    try:
        leaf = leaf_hash(canonical_json(dict(entry)))
    except EntryError as err:
        raise ReceiptError(f"the entry cannot be canonicalised: {err}") from None
    try:
        verify_inclusion(leaf, index, size, proof, checkpoint.root_hash)
    except ProofError as err:
        raise ReceiptError(
            f"the entry is not at leaf {index} of the checkpointed tree (the entry, its position "
            f"or the proof was altered): {err}"
        ) from None
    return VerifiedReceipt(dict(entry), index, checkpoint, operator, witnesses)


def verify_entries(
    entries: Iterable[Mapping[str, Any]],
    checkpoint: str,
    keys: Iterable[str | VerifierKey],
    min_witnesses: int = MIN_WITNESSES,
) -> Checkpoint:
    """Audit a whole log: the first ``size`` entries, in order, must hash to the root of the
    cosigned ``checkpoint`` (an altered, removed, inserted or reordered entry changes it)."""
    cp, _, _ = verify_checkpoint(checkpoint, keys, min_witnesses)
    tree = MerkleTree()
    for entry in entries:
        if tree.size == cp.size:
            break
        tree.append(canonical_json(dict(entry)))
    if tree.size < cp.size:
        raise ReceiptError(f"only {tree.size} entries for a checkpoint of size {cp.size}")
    if tree.root() != cp.root_hash:
        raise ReceiptError(
            f"the {cp.size} entries do not hash to the checkpoint's root: an entry was altered, "
            "removed, inserted or reordered"
        )
    return cp


def verify_extension(
    old_checkpoint: str,
    new_checkpoint: str,
    consistency_proof: Iterable[bytes],
    keys: Iterable[str | VerifierKey],
    min_witnesses: int = MIN_WITNESSES,
) -> Checkpoint:
    """Check that ``new_checkpoint`` extends ``old_checkpoint`` (both cosigned, same log): the
    log only appended. Returns the new checkpoint."""
    keys = list(keys)
    old, _, _ = verify_checkpoint(old_checkpoint, keys, min_witnesses)
    new, _, _ = verify_checkpoint(new_checkpoint, keys, min_witnesses)
    if old.origin != new.origin:
        raise ReceiptError(f"checkpoints of two logs: {old.origin!r} and {new.origin!r}")
    try:
        verify_consistency(
            old.size, new.size, old.root_hash, new.root_hash, list(consistency_proof)
        )
    except ProofError as err:
        raise ReceiptError(
            f"the checkpoint of size {new.size} does not extend the previous one of size "
            f"{old.size}: {err}"
        ) from None
    return new
