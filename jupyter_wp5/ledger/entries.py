"""What the ledger records: access events as canonical JSON, with no secrets or personal data.

Canonical form: RFC 8785 (JCS) for the values entries may hold. An entry is a JSON object whose
values are strings, integers (within +-2**53), booleans, lists and objects; keys are ASCII, so
sorting them by code point is JCS's UTF-16 order; no floats, so JCS's number rules reduce to plain
integers. It is serialised with sorted keys, no whitespace, UTF-8 (no \\u escapes beyond the
control characters that JSON requires). The leaf of the Merkle tree is exactly these bytes.

Every entry has ``v`` (format version), ``event`` and ``time`` (RFC 3339, UTC, seconds). Accounts
appear by their Rucio name. Free text (a purpose, a reason) never appears: only a salted
HMAC-SHA-256 of it (:func:`commit_text`); the owner keeps the text and the salt and can reveal both
later to prove what was written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "ENTRY_VERSION",
    "EVENTS",
    "EntryError",
    "canonical_json",
    "commit_text",
    "make_entry",
    "sha256_hex",
    "validate_entry",
]

ENTRY_VERSION = 1
_MAX_INT = 2**53


class EntryError(ValueError):
    """An entry that the ledger refuses (unknown event, missing or malformed field)."""


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of ``value`` (see the module docstring)."""
    _check_value(value, "entry")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _check_value(value: Any, where: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > _MAX_INT:
            raise EntryError(f"{where}: integer {value} is outside +-2**53")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise EntryError(f"{where}: keys must be ASCII strings, not {key!r}")
            _check_value(item, f"{where}.{key}")
        return
    raise EntryError(f"{where}: {type(value).__name__} values are not allowed (no floats)")


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (for code, lock files and outputs)."""
    return hashlib.sha256(data).hexdigest()


def commit_text(text: str, salt: str | None = None) -> tuple[str, str]:
    """A salted commitment to free text: ``(hex HMAC-SHA-256(salt, text), salt)``.

    The entry holds only the first; the owner keeps the text and the salt (a new random one
    unless given), which together prove the text later without the ledger ever holding it.
    """
    salt = salt if salt is not None else secrets.token_hex(16)
    digest = hmac.new(bytes.fromhex(salt), text.encode(), hashlib.sha256).hexdigest()
    return digest, salt


# -- field checks --------------------------------------------------------------------------

_ACCOUNT = re.compile(r"^[a-z0-9_-]{1,25}$")  # Rucio's account names
_DID = re.compile(r"^[A-Za-z0-9_.-]{1,30}:[A-Za-z0-9_.\-/]{1,250}$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_RSE = re.compile(r"^[A-Z0-9_-]{1,64}$")
# An RSE expression as a rule names it (``SITE-C``, ``SITE-B|SITE-C``, ``tier=2&country=IT``).
_RSE_EXPRESSION = re.compile(r"^[A-Za-z0-9_.=<>|&\\()-]{1,250}$")
_ADLER32 = re.compile(r"^[0-9a-f]{8}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and regex.match(value):
            return None
        return f"must be {what}"

    return check


def _list_of(item: Callable[[Any], str | None], what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or any(item(v) for v in value):
            return f"must be a list of {what}"
        return None

    return check


def _file_digest(value: Any) -> str | None:
    if (
        isinstance(value, dict)
        and {"did", "adler32"} <= set(value) <= {"did", "adler32", "bytes"}
        and not _CHECKS["did"](value["did"])
        and not _CHECKS["adler32"](value["adler32"])
        and _CHECKS["bytes"](value.get("bytes", 0)) is None
    ):
        return None
    return 'must be {"did": "scope:name", "adler32": "8 hex digits", "bytes" (optional): size}'


def _size(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_INT:
        return None
    return "must be a size in bytes (a whole number from 0)"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "account": _pattern(_ACCOUNT, "a Rucio account name"),
    "did": _pattern(_DID, "a DID scope:name"),
    "id": _pattern(_ID, "an identifier"),
    "rse": _pattern(_RSE, "an RSE name"),
    "rse_expression": _pattern(_RSE_EXPRESSION, "an RSE expression"),
    "bytes": _size,
    "adler32": _pattern(_ADLER32, "8 lower-case hex digits"),
    "sha256": _pattern(_SHA256, "64 lower-case hex digits (a SHA-256 or HMAC-SHA-256)"),
    "time": _pattern(_TIME, "an RFC 3339 UTC time like 2026-01-31T12:00:00Z"),
}
_C = _CHECKS
_FILES = _list_of(_file_digest, '{"did", "adler32", "bytes" (optional)} objects')
_RSES = _list_of(_C["rse"], "RSE names")

# A steward's decision on a request or grant; a reason, if any, only as a salted HMAC.
_DECISION: dict[str, tuple[Callable[[Any], str | None], bool]] = {
    "request_id": (_C["id"], True),
    "steward": (_C["account"], True),
    "grantee": (_C["account"], True),
    "did": (_C["did"], True),
    "reason_hmac": (_C["sha256"], False),
}

# event -> {field: (check, required)}
EVENTS: dict[str, dict[str, tuple[Callable[[Any], str | None], bool]]] = {
    "access_request": {
        "request_id": (_C["id"], True),
        "requester": (_C["account"], True),
        "did": (_C["did"], True),
        "purpose_hmac": (_C["sha256"], True),
    },
    "grant": {
        "request_id": (_C["id"], True),
        "steward": (_C["account"], True),
        "grantee": (_C["account"], True),
        "did": (_C["did"], True),
        "expires": (_C["time"], True),
        "rses": (_RSES, False),
    },
    "deny": _DECISION,
    "revoke": _DECISION,
    "rule_created": {
        "rule_id": (_C["id"], True),
        "account": (_C["account"], True),
        "did": (_C["did"], True),
        "rse": (_C["rse_expression"], True),
        "request_id": (_C["id"], False),
    },
    "replica_ready": {
        "rule_id": (_C["id"], True),
        "did": (_C["did"], True),
        "rse": (_C["rse_expression"], True),
    },
    "download": {
        "account": (_C["account"], True),
        "did": (_C["did"], True),
        "files": (_FILES, True),
    },
    "analysis_run": {
        "account": (_C["account"], True),
        "inputs": (_FILES, True),
        "code_sha256": (_C["sha256"], True),
        "env_lock_sha256": (_C["sha256"], True),
        "output_sha256": (_C["sha256"], True),
    },
}


def validate_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``entry`` against its event's schema; return it as a plain dict.

    Unknown fields are refused, so nothing but the listed names, identifiers and hashes (no free
    text, no secrets) can reach the ledger.
    """
    if not isinstance(entry, Mapping):
        raise EntryError("an entry is a JSON object")
    entry = dict(entry)
    if entry.get("v") != ENTRY_VERSION:
        raise EntryError(f"entry format version 'v' must be {ENTRY_VERSION}")
    event = entry.get("event")
    if event not in EVENTS:
        raise EntryError(f"unknown event {event!r}; known: {', '.join(EVENTS)}")
    fields = EVENTS[event]
    unknown = set(entry) - {"v", "event", "time", *fields}
    if unknown:
        raise EntryError(f"{event}: unknown field(s) {', '.join(sorted(unknown))}")
    problems = []
    if error := _C["time"](entry.get("time")):
        problems.append(f"time {error}")
    for name, (check, required) in fields.items():
        if name not in entry:
            if required:
                problems.append(f"{name} is missing")
        elif error := check(entry[name]):
            problems.append(f"{name} {error}")
    if problems:
        raise EntryError(f"{event}: " + "; ".join(problems))
    return entry


def make_entry(event: str, *, time: dt.datetime | None = None, **fields: Any) -> dict[str, Any]:
    """A validated entry for ``event`` (see :data:`EVENTS` for each event's fields), stamped
    with ``time`` (default: now, UTC, whole seconds)."""
    when = (time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = when.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return validate_entry({"v": ENTRY_VERSION, "event": event, "time": stamp, **fields})
