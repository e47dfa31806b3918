"""Records describing a running playground (what tests and the extension read)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .gateway import GatewayInfo

__all__ = ["FacilityInfo", "LedgerInfo", "SeededDataset", "SeededFile"]


@dataclass(frozen=True)
class SeededFile:
    """One file the playground uploaded: name, size in bytes, adler32, events (or table rows)."""

    name: str
    bytes: int
    adler32: str
    events: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeededFile:
        """Inverse of ``dataclasses.asdict``."""
        return cls(**data)


@dataclass(frozen=True)
class SeededDataset:
    """One dataset the playground created, with its files and the RSEs holding full copies."""

    scope: str
    name: str
    kind: str  # "nanoaod" or "table"
    files: list[SeededFile]
    rses: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def did(self) -> str:
        """``scope:name``."""
        return f"{self.scope}:{self.name}"

    @property
    def bytes(self) -> int:
        """Total size of the dataset's files."""
        return sum(f.bytes for f in self.files)

    @property
    def events(self) -> int:
        """Total events (rows for a table dataset)."""
        return sum(f.events for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (with the derived ``did`` and ``bytes``)."""
        data = asdict(self)
        data.update(did=self.did, bytes=self.bytes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeededDataset:
        """Inverse of :meth:`to_dict`."""
        return cls(
            scope=data["scope"],
            name=data["name"],
            kind=data["kind"],
            files=[SeededFile.from_dict(f) for f in data["files"]],
            rses=list(data["rses"]),
            metadata=dict(data.get("metadata", {})),
        )


@dataclass(frozen=True)
class LedgerInfo:
    """Where the playground's ledger listens, and its published verifier keys."""

    url: str  # the log's HTTP API
    origin: str  # the checkpoints' origin line (also the operator key's name)
    witnesses: dict[str, str]  # party -> witness URL
    verifier_keys: list[str]  # operator's key first, then each witness's
    keys_file: Path  # the same keys, one per line (what `jupyter wp5 ledger verify --keys` reads)
    token_file: Path  # 0600: the bearer token that appending to the log needs

    def token(self) -> str:
        """The append token (secret: only for the services that report events)."""
        return self.token_file.read_text().strip()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        data = asdict(self)
        data["keys_file"] = str(self.keys_file)
        data["token_file"] = str(self.token_file)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LedgerInfo:
        """Inverse of :meth:`to_dict`."""
        paths = {"keys_file": Path(data["keys_file"]), "token_file": Path(data["token_file"])}
        return cls(**{**data, **paths})


@dataclass(frozen=True)
class FacilityInfo:
    """Where everything of a started playground is. Holds no passwords.

    The passwords are only in the 0600 client configuration files it points at.
    """

    root: Path
    rucio_url: str
    rucio_config: Path  # client rucio.cfg of the ordinary account (what RUCIO_CONFIG points at)
    root_rucio_config: Path  # client rucio.cfg of the admin account "root"
    account: str
    rses: list[str]
    datasets: list[SeededDataset]
    storage: dict[str, str]  # rse -> XRootD URL or directory
    containers: dict[str, list[str]] = field(default_factory=dict)  # container DID -> dataset DIDs
    uses_xrootd: bool = False
    database: str = "sqlite"  # Rucio's database: "sqlite" or "postgresql"
    scale: str = "small"  # how much data was seeded: "small", "medium" or "large"
    # The catalogue-only scope (medium and large): scope, rse, datasets, files, container,
    # largest_dataset.
    catalogue: dict[str, Any] | None = None
    quotas: dict[str, int] = field(default_factory=dict)  # rse -> the account's quota in bytes
    # Named users (Facility(users=...), --users): user -> that account's client rucio.cfg.
    users: dict[str, Path] = field(default_factory=dict)
    # The dask-gateway of this run (Facility(gateway=True)); not written to facility.json, since
    # it gets new ports and a new password on every start.
    gateway: GatewayInfo | None = None
    ledger: LedgerInfo | None = None  # the ledger's log and witnesses (Facility(ledger=True))

    def dataset(self, did: str) -> SeededDataset:
        """The seeded dataset ``scope:name``."""
        for ds in self.datasets:
            if ds.did == did:
                return ds
        raise KeyError(did)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "root": str(self.root),
            "rucio_url": self.rucio_url,
            "rucio_config": str(self.rucio_config),
            "root_rucio_config": str(self.root_rucio_config),
            "account": self.account,
            "rses": list(self.rses),
            "datasets": [d.to_dict() for d in self.datasets],
            "storage": dict(self.storage),
            "containers": {k: list(v) for k, v in self.containers.items()},
            "uses_xrootd": self.uses_xrootd,
            "database": self.database,
            "scale": self.scale,
            "catalogue": self.catalogue,
            "quotas": dict(self.quotas),
            "users": {name: str(path) for name, path in self.users.items()},
            "ledger": self.ledger.to_dict() if self.ledger is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FacilityInfo:
        """Inverse of :meth:`to_dict`."""
        return cls(
            root=Path(data["root"]),
            rucio_url=data["rucio_url"],
            rucio_config=Path(data["rucio_config"]),
            root_rucio_config=Path(data["root_rucio_config"]),
            account=data["account"],
            rses=list(data["rses"]),
            datasets=[SeededDataset.from_dict(d) for d in data["datasets"]],
            storage=dict(data["storage"]),
            containers={k: list(v) for k, v in data.get("containers", {}).items()},
            uses_xrootd=bool(data.get("uses_xrootd", False)),
            database=str(data.get("database", "sqlite")),
            scale=str(data.get("scale", "small")),
            catalogue=data.get("catalogue"),
            quotas={k: int(v) for k, v in data.get("quotas", {}).items()},
            users={k: Path(v) for k, v in data.get("users", {}).items()},
            ledger=LedgerInfo.from_dict(data["ledger"]) if data.get("ledger") else None,
        )

    def write(self, path: Path) -> None:
        """Write as JSON (``root/facility.json``)."""
        path.write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def read(cls, path: Path) -> FacilityInfo:
        """Read what :meth:`write` wrote."""
        return cls.from_dict(json.loads(path.read_text()))
