"""Typed records shared by every layer of jupyter-wp5.

Services return these records, handlers serialise them with ``to_dict()`` and the kernel client
rebuilds them with ``from_dict()``. The TypeScript mirror lives in ``src/tokens.ts`` and the wire
contract in ``jupyter_wp5/openapi.yaml``; keep the three in step.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar, Self, get_args, get_type_hints

# Rucio's generic schema: scopes are short identifiers, names may contain dots, dashes and slashes.
# A name starts with a letter or digit, or with '/' as CMS names do (``/DY.../NANOAODSIM#a1b2``:
# '#' joins a CMS block's id to its dataset's name).
_SCOPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9._/+#-]{0,249}$")
_PATTERN_RE = re.compile(r"^[A-Za-z0-9*/][A-Za-z0-9._/+*#-]{0,249}$")

# What a search may filter on: the metadata columns of Rucio's DID table (its default metadata
# plugin). ``name``, ``scope`` and the type come from the query itself, never from a filter.
FILTER_KEYS = frozenset(
    {
        "account", "is_open", "bytes", "length", "md5", "adler32", "events", "guid", "project",
        "datatype", "run_number", "stream_name", "prod_step", "version", "campaign", "task_id",
        "panda_id", "lumiblocknr", "provenance", "phys_group", "created_at", "updated_at",
        "accessed_at", "closed_at", "eol_at",
    }
)  # fmt: skip
_INTEGER_KEYS = frozenset(
    {"bytes", "length", "events", "run_number", "task_id", "panda_id", "lumiblocknr"}
)
_QUERY_KEYS = frozenset({"name", "scope", "type", "did_type"})
_INTEGER_RE = re.compile(r"^-?\d{1,18}$")


class Wp5Error(Exception):
    """An error the user may see: an HTTP status, a stable code and a readable message."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    # Seconds after which the same request may succeed (sent as Retry-After); None: not transient.
    retry_after: ClassVar[int | None] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class InvalidRequest(Wp5Error):
    status = 400
    code = "invalid_request"


class InvalidDID(InvalidRequest):
    code = "invalid_did"


class PayloadTooLarge(Wp5Error):
    """The request body is larger than the server reads."""

    status = 413
    code = "payload_too_large"


class NotFound(Wp5Error):
    status = 404
    code = "not_found"


class Forbidden(Wp5Error):
    status = 403
    code = "forbidden"


class Conflict(Wp5Error):
    """The request is valid but cannot be done in the current state (quota, duplicate, profile)."""

    status = 409
    code = "conflict"


class EngineRefused(Wp5Error):
    """The engine answered but refused us (bad credentials, permission): a gateway error."""

    status = 502
    code = "engine_refused"


class EngineUnavailable(Wp5Error):
    """The engine did not answer (down, unreachable, timed out)."""

    status = 503
    code = "engine_unavailable"
    retry_after = 5


class TransferStuck(Wp5Error):
    """A copy request ended STUCK (or was suspended): the reason is Rucio's, or the download's."""

    status = 409
    code = "transfer_stuck"


class TransferTimeout(Wp5Error):
    """A wait ended before the copy did; the request itself goes on."""

    status = 504
    code = "transfer_timeout"


ERRORS_BY_CODE: dict[str, type[Wp5Error]] = {
    cls.code: cls
    for cls in (
        Wp5Error,
        InvalidRequest,
        InvalidDID,
        PayloadTooLarge,
        NotFound,
        Forbidden,
        Conflict,
        EngineRefused,
        EngineUnavailable,
        TransferStuck,
        TransferTimeout,
    )
}


def error_from_dict(payload: dict[str, Any], status: int) -> Wp5Error:
    """Rebuild the typed error a server sent (used by the kernel's REST client)."""
    cls = ERRORS_BY_CODE.get(payload.get("error", ""), Wp5Error)
    err = cls(payload.get("message") or f"HTTP {status}")
    return err


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    """The field names of record class ``cls``, found once per class."""
    return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]


@cache
def _int_fields(cls: type) -> tuple[str, ...]:
    """The fields of record class ``cls`` typed ``int`` (or ``int | None``), found once per
    class: a search builds a record per row, and ``fields()`` per row was a third of that."""
    return tuple(
        f.name
        for f in fields(cls)  # type: ignore[arg-type]
        if str(f.type).split("|")[0].strip() == "int"
    )


class Record:
    """Mixin giving dataclasses one wire shape: ``to_dict`` and ``from_dict``."""

    def __post_init__(self) -> None:
        # Rucio on PostgreSQL answers sums (a dataset's bytes, its replicas' lengths) as floats:
        # its server loads every NUMERIC as float. A whole number typed int goes out as an int.
        for name in _int_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, float) and value.is_integer():
                object.__setattr__(self, name, int(value))  # frozen records too

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


class DidType(StrEnum):
    FILE = "file"
    DATASET = "dataset"
    CONTAINER = "container"


class DidTypeFilter(StrEnum):
    """What a search may ask for: one type, all collections or everything."""

    DATASET = "dataset"
    CONTAINER = "container"
    FILE = "file"
    COLLECTION = "collection"
    ALL = "all"


@dataclass(frozen=True)
class DID:
    """A Rucio data identifier, ``scope:name``."""

    scope: str
    name: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> DID:
        """Parse ``scope:name``; raise :class:`InvalidDID` with the reason when it is malformed."""
        scope, sep, name = (text or "").strip().partition(":")
        if not sep:
            raise InvalidDID(f"'{text}' is not a DID: expected scope:name")
        return cls.of(scope, name)

    @classmethod
    def of(cls, scope: str, name: str) -> DID:
        if not _SCOPE_RE.match(scope):
            raise InvalidDID(f"'{scope}' is not a valid scope (letters, digits, '._-', max 30)")
        if not _NAME_RE.match(name):
            raise InvalidDID(f"'{name}' is not a valid name (letters, digits, '._/+#-', max 250)")
        if any(set(part) <= {"."} for part in name.removeprefix("/").split("/")):
            # Names become paths (downloads, storage): no empty, '.' or '..' segment, no final /;
            # only the leading '/' of a CMS name opens with an empty one.
            raise InvalidDID(f"'{name}' has an empty, '.' or '..' path segment")
        return cls(scope, name)


@dataclass(frozen=True)
class SearchQuery:
    """A catalogue search: ``scope:pattern`` with wildcards, a type and metadata filters."""

    scope: str
    pattern: str
    type: DidTypeFilter = DidTypeFilter.COLLECTION
    filters: tuple[tuple[str, str, str], ...] = ()

    _FILTER_RE: ClassVar[re.Pattern[str]] = re.compile(
        r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|=|>|<)\s*([^<>=!\s].*?)\s*$"
    )

    @classmethod
    def parse(cls, q: str, type: str | None = None, filters: str | None = None) -> SearchQuery:
        """Parse the user's ``scope:pattern``, type and ``key=value,key>value`` filters."""
        scope, sep, pattern = (q or "").strip().partition(":")
        if not sep:
            raise InvalidRequest(f"'{q}' is not a search: expected scope:pattern, e.g. cms:*DY*")
        pattern = pattern or "*"
        if not _SCOPE_RE.match(scope):
            raise InvalidRequest(f"'{scope}' is not a valid scope")
        if not _PATTERN_RE.match(pattern):
            raise InvalidRequest(f"'{pattern}' is not a valid name pattern")
        try:
            kind = DidTypeFilter(type or DidTypeFilter.COLLECTION)
        except ValueError:
            choices = ", ".join(t.value for t in DidTypeFilter)
            raise InvalidRequest(f"type must be one of {choices}, not '{type}'") from None
        parsed: list[tuple[str, str, str]] = []
        for part in (filters or "").split(","):
            if not part.strip():
                continue
            m = cls._FILTER_RE.match(part)
            if not m:
                raise InvalidRequest(f"'{part}' is not a filter: expected key=value or key>value")
            parsed.append(_filter(*m.groups()))
        return cls(scope, pattern, kind, tuple(parsed))

    def __str__(self) -> str:
        return f"{self.scope}:{self.pattern}"


def _filter(key: str, op: str, value: str) -> tuple[str, str, str]:
    """One checked ``key op value`` filter: a known key, and a value Rucio can compare."""
    if key in _QUERY_KEYS:
        raise InvalidRequest(f"filter on {key} in q (scope:pattern) or type, not in filters")
    if key not in FILTER_KEYS:
        known = ", ".join(sorted(FILTER_KEYS))
        raise InvalidRequest(f"'{key[:40]}' is not a metadata key (one of {known})")
    if key in _INTEGER_KEYS and not _INTEGER_RE.match(value):
        raise InvalidRequest(f"{key} is a whole number, not '{value[:40]}'")
    try:
        number = float(value)
    except ValueError:
        return key, op, value
    if not math.isfinite(number):
        raise InvalidRequest(f"'{value[:40]}' is not a finite number")
    return key, op, value


@dataclass
class DidSummary(Record):
    """One search result."""

    scope: str
    name: str
    type: str
    bytes: int | None = None
    files: int | None = None

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        # All its fields are scalars: a shallow dict is what asdict() gives, at a fifth of the
        # cost of its recursive copy (a search page holds up to 1,000 rows).
        wire = {name: getattr(self, name) for name in _field_names(type(self))}
        wire["did"] = self.did
        return wire


@dataclass
class SiteCopy(Record):
    """How much of a DID one storage element holds."""

    rse: str
    available_files: int
    total_files: int
    available_bytes: int
    total_bytes: int

    @property
    def fraction(self) -> float:
        return self.available_files / self.total_files if self.total_files else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fraction": self.fraction}


@dataclass
class RuleSummary(Record):
    """A replication rule on a DID, with its lock counts."""

    id: str
    account: str
    rse_expression: str
    state: ReplicaState
    copies: int
    locks_ok: int
    locks_replicating: int
    locks_stuck: int
    created_at: str | None = None
    expires_at: str | None = None

    def __post_init__(self) -> None:
        self.state = ReplicaState(self.state)


class DeepState(StrEnum):
    """Where exact, per-file counts of a DID (``?deep=1``) stand."""

    RUNNING = "running"
    DONE = "done"
    CAPPED = "capped"  # done, over the first ``cap`` datasets only
    FAILED = "failed"


@dataclass
class DeepCount(Record):
    """Progress of the background job counting a DID's files and replicas one by one."""

    did: str
    state: DeepState
    files_done: int = 0
    files_total: int | None = None  # from Rucio's summary while running, exact once done
    datasets_done: int = 0
    datasets_total: int = 0
    cap: int = 0
    cap_setting: str = ""
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeepCount:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        return cls(**{**values, "state": DeepState(data["state"])})


@dataclass
class DatasetDetails(Record):
    """What a DID holds and where.

    ``summary``: the counts are Rucio's stored summaries (the DID's bytes and length, the dataset
    replica table), which Rucio updates asynchronously; exact per-file counts come with
    ``?deep=1`` (``deep`` says how far they are). ``partial``: Rucio was slow and the parts named
    in ``missing`` are left out of this answer.
    """

    scope: str
    name: str
    type: str
    bytes: int | None
    files: int | None
    copies: list[SiteCopy] = field(default_factory=list)
    rules: list[RuleSummary] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    summary: bool = True
    partial: bool = False
    missing: list[str] = field(default_factory=list)
    deep: DeepCount | None = None

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "scope": self.scope,
            "name": self.name,
            "type": self.type,
            "bytes": self.bytes,
            "files": self.files,
            "copies": [c.to_dict() for c in self.copies],
            "rules": [r.to_dict() for r in self.rules],
            "metadata": self.metadata,
            "summary": self.summary,
            "partial": self.partial,
            "missing": self.missing,
            "deep": self.deep.to_dict() if self.deep else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetDetails:
        return cls(
            scope=data["scope"],
            name=data["name"],
            type=data["type"],
            bytes=data.get("bytes"),
            files=data.get("files"),
            copies=[SiteCopy.from_dict(c) for c in data.get("copies", [])],
            rules=[RuleSummary.from_dict(r) for r in data.get("rules", [])],
            metadata=data.get("metadata", {}),
            summary=data.get("summary", True),
            partial=data.get("partial", False),
            missing=data.get("missing", []),
            deep=DeepCount.from_dict(data["deep"]) if data.get("deep") else None,
        )


@dataclass
class FileEntry(Record):
    """One file of a dataset, with its replica state per storage element."""

    scope: str
    name: str
    bytes: int | None
    adler32: str | None
    states: dict[str, FileReplicaState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.states = {rse: FileReplicaState(state) for rse, state in self.states.items()}


class Page(Record):
    """One page of a listing: its ``items`` and ``next_cursor``, the opaque position of the next
    page (None on the last). The items' record type is read from the ``items`` annotation."""

    def to_dict(self) -> dict[str, Any]:
        wire = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        wire["items"] = [i.to_dict() for i in wire["items"]]
        return wire

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        (item_type,) = get_args(get_type_hints(cls)["items"])
        page = super().from_dict(data)
        page.items = [item_type.from_dict(i) for i in data["items"]]  # type: ignore[attr-defined]
        return page


@dataclass
class SearchPage(Page):
    query: str
    items: list[DidSummary]
    next_cursor: str | None = None


@dataclass
class FilePage(Page):
    did: str
    items: list[FileEntry]
    next_cursor: str | None = None


@dataclass
class StorageElement(Record):
    """A Rucio storage element (RSE) and the user's quota on it."""

    name: str
    rse_type: str
    deterministic: bool
    availability_read: bool
    availability_write: bool
    quota_bytes: int | None = None
    used_bytes: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class EngineStatus(Record):
    """Whether an engine (Rucio, a Dask backend) answers, and what it said."""

    name: str
    reachable: bool
    url: str | None = None
    version: str | None = None
    account: str | None = None
    message: str | None = None
    checked_at: str | None = None  # when the engine was asked (ISO 8601, UTC); None: just now


@dataclass
class Health(Record):
    version: str
    engines: list[EngineStatus]

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "engines": [e.to_dict() for e in self.engines]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Health:
        return cls(data["version"], [EngineStatus.from_dict(e) for e in data["engines"]])


_LIFETIME_RE = re.compile(r"^\s*(\d{1,12})\s*([smhdw]?)\s*$")
_LIFETIME_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_lifetime(text: str | int | None) -> int | None:
    """``"7d"``, ``"12h"``, ``"3600"`` or seconds as an int -> seconds; None means no expiry."""
    if text is None or text == "":
        return None
    m = _LIFETIME_RE.match(str(text))
    if not m or int(m.group(1)) <= 0:
        raise InvalidRequest(f"lifetime '{text}' is not a duration such as 3600, 12h or 7d")
    return int(m.group(1)) * _LIFETIME_UNITS[m.group(2)]


class WireEnum(StrEnum):
    """A value as it travels: it compares, prints and serialises as its text (``'OK'``), so the
    records read in a notebook as they did when their states were plain strings."""

    def __repr__(self) -> str:
        return repr(self.value)


class ReplicaState(WireEnum):
    """A copy request's state: Rucio's rule state (a download uses the same words).

    Three kinds, and only these names say which: :attr:`is_moving` (files are on their way
    without anyone acting: wait, poll, show a bar), :attr:`needs_attention` (stopped short of OK
    until the user retries, extends or cancels: still listed, no longer waited for) and ``OK``.
    """

    OK = "OK"
    REPLICATING = "REPLICATING"
    INJECT = "INJECT"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    STUCK = "STUCK"
    SUSPENDED = "SUSPENDED"

    @property
    def is_moving(self) -> bool:
        """Rucio (or the download) is still moving files: worth waiting and polling for."""
        return self in _MOVING

    @property
    def needs_attention(self) -> bool:
        """Stopped short of complete; only the user's retry (or a new request) moves it on."""
        return self in _NEEDS_ATTENTION


_MOVING = frozenset({ReplicaState.REPLICATING, ReplicaState.INJECT, ReplicaState.WAITING_APPROVAL})
_NEEDS_ATTENTION = frozenset({ReplicaState.STUCK, ReplicaState.SUSPENDED})


class LockState(WireEnum):
    """One file copy a rule asked for (a Rucio replica lock)."""

    OK = "OK"
    REPLICATING = "REPLICATING"
    STUCK = "STUCK"


class FileReplicaState(WireEnum):
    """A file's replica at one storage element, as ``files`` reports it (Rucio's words)."""

    AVAILABLE = "AVAILABLE"
    UNAVAILABLE = "UNAVAILABLE"
    COPYING = "COPYING"
    BEING_DELETED = "BEING_DELETED"
    BAD = "BAD"
    TEMPORARY_UNAVAILABLE = "TEMPORARY_UNAVAILABLE"


# Rucio keeps a rule's comment in 255 characters; an expression longer than this is no selection.
MAX_COMMENT = 255
MAX_EXPRESSION = 500


class ReplicaMode(WireEnum):
    """How a copy is made: a Rucio rule at a storage element, or a download to scratch."""

    RULE = "rule"
    DOWNLOAD = "download"


@dataclass(frozen=True)
class ReplicaRequest:
    """A copy of ``did``: at the storage elements ``rse_expression`` selects (mode ``rule``), or
    into the user's scratch directory (mode ``download``, where ``rse_expression``, if given,
    picks the copies to read from)."""

    did: DID
    rse_expression: str
    copies: int = 1
    lifetime: int | None = None
    comment: str | None = None
    mode: ReplicaMode = ReplicaMode.RULE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplicaRequest:
        if not isinstance(data, dict):
            raise InvalidRequest("the request body must be a JSON object")
        unknown = set(data) - {"did", "rse_expression", "copies", "lifetime", "comment", "mode"}
        if unknown:
            raise InvalidRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        try:
            mode = ReplicaMode(data.get("mode") or ReplicaMode.RULE)
        except ValueError:
            raise InvalidRequest(f"mode must be rule or download, not '{data['mode']}'") from None
        expression = str(data.get("rse_expression") or "").strip()
        if not expression and mode is ReplicaMode.RULE:
            raise InvalidRequest("rse_expression is required, e.g. SITE-B")
        if len(expression) > MAX_EXPRESSION:
            raise InvalidRequest(f"rse_expression is longer than {MAX_EXPRESSION} characters")
        copies = data.get("copies", 1)
        if not isinstance(copies, int) or isinstance(copies, bool) or copies < 1:
            raise InvalidRequest("copies must be a positive integer")
        comment = data.get("comment")
        if comment and len(str(comment)) > MAX_COMMENT:
            raise InvalidRequest(f"comment is longer than {MAX_COMMENT} characters")
        return cls(
            did=DID.parse(str(data.get("did") or "")),
            rse_expression=expression,
            copies=copies,
            lifetime=parse_lifetime(data.get("lifetime")),
            comment=str(comment) if comment else None,
            mode=mode,
        )

    def to_dict(self) -> dict[str, Any]:
        """The POST body that :meth:`from_dict` reads back."""
        body: dict[str, Any] = {"did": str(self.did), "mode": self.mode.value}
        if self.rse_expression:
            body["rse_expression"] = self.rse_expression
        if self.copies != 1:
            body["copies"] = self.copies
        if self.lifetime is not None:
            body["lifetime"] = self.lifetime
        if self.comment:
            body["comment"] = self.comment
        return body


@dataclass(frozen=True)
class ReplicaUpdate:
    """A change to the user's own copy request: a new lifetime from now, and/or retry now."""

    lifetime: int | None = None
    retry: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplicaUpdate:
        if not isinstance(data, dict):
            raise InvalidRequest("the request body must be a JSON object")
        unknown = set(data) - {"lifetime", "retry"}
        if unknown:
            raise InvalidRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        retry = data.get("retry", False)
        if not isinstance(retry, bool):
            raise InvalidRequest("retry must be true or false")
        lifetime = parse_lifetime(data.get("lifetime"))
        if lifetime is None and not retry:
            raise InvalidRequest("nothing to change: give a lifetime (e.g. 7d) or retry: true")
        return cls(lifetime=lifetime, retry=retry)

    def to_dict(self) -> dict[str, Any]:
        """The PATCH body that :meth:`from_dict` reads back."""
        body: dict[str, Any] = {"retry": self.retry}
        if self.lifetime is not None:
            body["lifetime"] = self.lifetime
        return body


@dataclass
class ReplicaProgress(Record):
    """A replication rule as the user follows it: its state and its file copies by state.

    ``files_*`` count Rucio's locks, one per file and copy (files x copies).
    """

    id: str
    did: str
    rse_expression: str
    state: ReplicaState
    copies: int
    files_total: int
    files_ok: int
    files_replicating: int
    files_stuck: int
    bytes_total: int | None = None
    bytes_ok: int | None = None
    error: str | None = None
    comment: str | None = None
    created_at: str | None = None
    expires_at: str | None = None
    mode: ReplicaMode = ReplicaMode.RULE
    paths: list[str] = field(default_factory=list)  # download mode: the local files so far
    # The access ledger's entries for this request (rule made, copy complete, each file
    # downloaded); empty without a ledger.
    ledger_indexes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = ReplicaState(self.state)
        self.mode = ReplicaMode(self.mode)

    @property
    def fraction(self) -> float:
        return self.files_ok / self.files_total if self.files_total else 0.0

    @property
    def is_moving(self) -> bool:
        """Files are still on their way: worth waiting and polling for (see ReplicaState)."""
        return self.state.is_moving

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fraction": self.fraction}


# -- compute ------------------------------------------------------------------------------------


class ClusterStatus(WireEnum):
    """A cluster as the manager reports it (closed clusters are no longer listed)."""

    RUNNING = "running"
    DEGRADED = "degraded"  # running with fewer workers than asked for; the manager restores them
    CLOSED = "closed"
    LOST = "lost"  # the cluster's process ended without being asked to


@dataclass
class ProfileInfo(Record):
    """A compute profile as clients see it, with whether this server can serve it now."""

    name: str
    label: str
    backend: str
    worker_cores: int
    worker_memory: int
    resources: dict[str, float]
    arch: str | None
    environment: str | None
    max_workers: int
    servable: bool
    reason: str | None = None


@dataclass
class ClusterInfo(Record):
    """One Dask cluster and its current size."""

    id: str
    name: str
    profile: str
    backend: str
    status: ClusterStatus
    workers: int
    cores: int
    memory: int
    gpus: int
    scheduler_address: str
    dashboard_link: str | None
    created_at: str
    adaptive_minimum: int | None = None
    adaptive_maximum: int | None = None
    # Workers per CPU architecture, e.g. {"x86_64": 2, "aarch64": 1}; {} when the backend
    # cannot tell.
    architectures: dict[str, int] = field(default_factory=dict)
    # The directory of the cluster's own TLS key and certificate (files only the user can read);
    # None when its engine holds the credentials (a gateway cluster).
    credentials: str | None = None

    def __post_init__(self) -> None:
        self.status = ClusterStatus(self.status)


def _int_field(data: dict[str, Any], key: str, minimum: int = 0) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidRequest(f"{key} must be a whole number >= {minimum}, not {value!r}")
    return value


@dataclass(frozen=True)
class ClusterSize:
    """How big a cluster should be: a fixed number of workers, or adaptive bounds."""

    workers: int | None = None
    minimum: int | None = None
    maximum: int | None = None

    @property
    def adaptive(self) -> bool:
        return self.workers is None

    @classmethod
    def parse(cls, data: dict[str, Any], default_workers: int | None = None) -> ClusterSize:
        """``{"workers": N}`` or ``{"adaptive": {"minimum": a, "maximum": b}}``."""
        if not isinstance(data, dict):
            raise InvalidRequest("the request body must be a JSON object")
        workers = _int_field(data, "workers")
        adaptive = data.get("adaptive")
        if workers is not None and adaptive is not None:
            raise InvalidRequest("give either workers or adaptive, not both")
        if adaptive is None:
            if workers is None:
                if default_workers is None:
                    raise InvalidRequest("give workers (a number) or adaptive {minimum, maximum}")
                workers = default_workers
            return cls(workers=workers)
        if not isinstance(adaptive, dict):
            raise InvalidRequest("adaptive must be an object {minimum, maximum}")
        minimum = _int_field(adaptive, "minimum") or 0
        maximum = _int_field(adaptive, "maximum", 1)
        if maximum is None:
            raise InvalidRequest("adaptive needs a maximum")
        if minimum > maximum:
            raise InvalidRequest(f"adaptive minimum {minimum} is above its maximum {maximum}")
        return cls(minimum=minimum, maximum=maximum)

    def to_dict(self) -> dict[str, Any]:
        """The body that :meth:`parse` reads back."""
        if self.workers is not None:
            return {"workers": self.workers}
        return {"adaptive": {"minimum": self.minimum or 0, "maximum": self.maximum}}

    @property
    def largest(self) -> int:
        return self.workers if self.workers is not None else self.maximum or 0


@dataclass(frozen=True)
class ClusterRequest:
    """A new cluster: a profile, its size (one worker unless given) and, optionally, a name."""

    profile: str
    size: ClusterSize
    name: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterRequest:
        """``{"profile": "cpu", "workers": 2 | "adaptive": {...}, "name": "mine"}``."""
        if not isinstance(data, dict):
            raise InvalidRequest("the request body must be a JSON object")
        profile = data.get("profile")
        if not isinstance(profile, str) or not profile:
            raise InvalidRequest('profile is required, e.g. {"profile": "cpu", "workers": 2}')
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise InvalidRequest("name must be a string")
        return cls(profile, ClusterSize.parse(data, default_workers=1), name)


# -- filesets -----------------------------------------------------------------------------------


@dataclass
class FilesetEntry(Record):
    """One dataset of a coffea fileset: its replica URLs at one storage element, and what it is.

    ``files`` maps each URL to the tree to read (``"Events"`` for NanoAOD); ``file_events`` maps
    each URL whose event count the catalogue knows to that count (so a run can cut the files into
    chunks without opening them first).
    """

    name: str
    files: dict[str, str]
    did: str
    rse: str
    protocol: str | None
    files_total: int
    bytes: int
    events: int | None = None
    file_events: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.files) == self.files_total

    def metadata(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "rse": self.rse,
            "protocol": self.protocol,
            "files": len(self.files),
            "files_total": self.files_total,
            "bytes": self.bytes,
            "events": self.events,
            "complete": self.complete,
        }


@dataclass
class Fileset:
    """A coffea fileset: ``{dataset_name: {"files": {url: tree}, "metadata": {...}}}``.

    The wire shape is exactly what ``coffea.processor.Runner`` and ``coffea.dataset_tools`` take.
    """

    entries: list[FilesetEntry]

    def to_dict(self) -> dict[str, Any]:
        # coffea's Runner reads "files" and "metadata" and ignores "file_events".
        return {
            e.name: {
                "files": dict(e.files),
                "metadata": e.metadata(),
                "file_events": dict(e.file_events),
            }
            for e in self.entries
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fileset:
        entries = []
        for name, entry in data.items():
            meta = entry.get("metadata", {})
            entries.append(
                FilesetEntry(
                    name=name,
                    files=dict(entry["files"]),
                    did=meta["did"],
                    rse=meta["rse"],
                    protocol=meta.get("protocol"),
                    files_total=meta["files_total"],
                    bytes=meta["bytes"],
                    events=meta.get("events"),
                    file_events=dict(entry.get("file_events") or {}),
                )
            )
        return cls(entries)
