"""An access request as Rucio stores it (config section ``wp5_access``), and its JSON form."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

SECTION = "wp5_access"
"""The Rucio config section the policy package reads (see wp5_policy/permission.py)."""


def utc_stamp(when: dt.datetime) -> str:
    """RFC 3339 UTC, whole seconds (the form the policy and the ledger read)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> dt.datetime:
    """Parse an RFC 3339 time; a time without a zone is taken as UTC. Raises ValueError."""
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class AccessRecord:
    """One request for access to a DID, and the steward's decision on it.

    ``purpose_hmac`` is the salted hash of the purpose (the requester keeps text and salt);
    ``status`` is ``pending``, ``granted``, ``denied`` or ``revoked`` as stored, and
    :meth:`to_dict` shows a grant past its expiry as ``expired``.
    """

    id: str
    requester: str
    did: str
    purpose_hmac: str
    requested: str
    status: str = "pending"
    steward: str | None = None
    expires: str | None = None
    rses: list[str] = field(default_factory=list)
    decided: str | None = None

    @property
    def scope(self) -> str:
        """The scope of the requested DID."""
        return self.did.split(":", 1)[0]

    def live(self, now: dt.datetime | None = None) -> bool:
        """Granted and not yet expired."""
        now = now or dt.datetime.now(dt.UTC)
        return (
            self.status == "granted"
            and self.expires is not None
            and parse_stamp(self.expires) > now
        )

    def decide(self, status: str, steward: str, **changes: Any) -> AccessRecord:
        """This record with a steward's decision."""
        stamp = utc_stamp(dt.datetime.now(dt.UTC))
        return replace(self, status=status, steward=steward, decided=stamp, **changes)

    def stored(self) -> str:
        """The value kept in Rucio."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_stored(cls, text: str) -> AccessRecord:
        """Parse a stored value (raises ValueError or TypeError on a foreign one)."""
        data = json.loads(text)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        data = asdict(self)
        if self.status == "granted" and not self.live():
            data["status"] = "expired"
        return data
