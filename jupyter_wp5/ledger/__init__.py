"""The access ledger: an append-only, tamper-evident transparency log (RFC 9162 Merkle tree,
C2SP checkpoints as Ed25519 signed notes, cosigned by one witness per party).

The log and the witnesses run as their own processes (:mod:`.log`, :mod:`.witness`); this package
gives their HTTP client (:class:`LedgerClient`), the entries they accept (:func:`make_entry`) and
the offline check of a receipt (:func:`verify`). See docs/ledger.md.
"""

from __future__ import annotations

from .client import LedgerClient, LedgerHTTPError
from .entries import EntryError, canonical_json, commit_text, make_entry
from .receipt import ReceiptError, VerifiedReceipt, verify, verify_checkpoint

__all__ = [
    "EntryError",
    "LedgerClient",
    "LedgerHTTPError",
    "ReceiptError",
    "VerifiedReceipt",
    "canonical_json",
    "commit_text",
    "make_entry",
    "verify",
    "verify_checkpoint",
]
