"""Communities as configured: one traitlets setting holds every community's parts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from traitlets import Dict, TraitError, validate
from traitlets.config import LoggingConfigurable

_KEYS = {"scopes", "stewards", "accounts", "rses", "profiles"}


@dataclass(frozen=True)
class Community:
    """A partner community: the Rucio scopes it owns, its accounts (stewards decide access to
    its scopes), its storage elements (the first is its default) and its compute profiles."""

    name: str
    scopes: list[str] = field(default_factory=list)
    stewards: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    rses: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)

    @property
    def members(self) -> set[str]:
        """Every account of the community, stewards included."""
        return set(self.stewards) | set(self.accounts)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


class Communities(LoggingConfigurable):
    """The configured communities, e.g. in jupyter_server_config.py::

    c.Communities.communities = {
        "inaf": {"scopes": ["space"], "stewards": ["inaf-steward"], "rses": ["SITE-A"]},
        "leonardo": {"accounts": ["leonardo-user"], "rses": ["SITE-C"]},
    }
    """

    communities = Dict(
        config=True,
        help="Community name -> {scopes, stewards, accounts, rses, profiles} (lists of names). "
        "Rucio enforces access to a community's scopes through the wp5 policy package; see "
        "docs/admin-guide.md.",
    )

    @validate("communities")
    def _check(self, proposal: Any) -> dict[str, Any]:
        value = proposal["value"]
        for name, parts in value.items():
            if not isinstance(parts, dict) or set(parts) - _KEYS:
                raise TraitError(f"community {name!r}: expected a dict with keys {sorted(_KEYS)}")
            for key, names in parts.items():
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise TraitError(f"community {name!r}: {key} must be a list of names")
        return value

    def all(self) -> list[Community]:
        """Every community, in name order."""
        return [Community(name, **parts) for name, parts in sorted(self.communities.items())]

    def owner_of(self, scope: str) -> Community | None:
        """The community owning ``scope``, if any."""
        return next((c for c in self.all() if scope in c.scopes), None)

    def of_account(self, account: str) -> list[Community]:
        """The communities ``account`` belongs to."""
        return [c for c in self.all() if account in c.members]
