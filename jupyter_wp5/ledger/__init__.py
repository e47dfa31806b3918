"""The access ledger: an append-only, tamper-evident transparency log (RFC 9162 Merkle tree,
C2SP checkpoints as Ed25519 signed notes, cosigned by one witness per party). See docs/ledger.md.
"""

from __future__ import annotations

from .entries import EntryError, canonical_json, commit_text, make_entry

__all__ = ["EntryError", "canonical_json", "commit_text", "make_entry"]
