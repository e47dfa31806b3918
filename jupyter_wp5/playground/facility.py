"""The playground facility: Rucio server, storage elements and seeded data on loopback."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from . import storage as storage_mod
from .communities import ACCOUNTS as COMMUNITY_ACCOUNTS
from .datagen import default_cache_dir
from .gateway import GatewayInfo, PlaygroundGateway
from .info import FacilityInfo, SeededDataset
from .ledger import PlaygroundLedger
from .postgres import PostgresServer, postgres_bin, write_passfile
from .privileges import reachable_dir, running_as_root
from .processes import ProcessRegistry, free_ports
from .rucio_config import (
    ROOT_IDENTITY,
    RucioFiles,
    new_password,
    write_alembic_ini,
    write_client_config,
    write_server_config,
)
from .rucio_env import ensure_server_venv
from .rucio_server import RucioServer
from .scales import SCALES, catalogue_plan
from .storage import StorageElement
from .transfers import TransferDaemons

__all__ = ["ACCOUNT", "DATABASES", "RSES", "Facility", "default_root"]

ACCOUNT = "jovyan"
RSES = ("SITE-A", "SITE-B", "SITE-C")
SCOPES = ("cms", "cmsblock", "space", f"user.{ACCOUNT}")
GB = 1000**3
# SITE-C's quota for the ordinary account is deliberately small: every seeded dataset exceeds
# it (with the default 5000 events per file, datasets are 0.3 to 0.5 MB).
QUOTAS = {"SITE-A": 50 * GB, "SITE-B": 50 * GB, "SITE-C": 100 * 1000}
ADMIN_QUOTA = 1000 * GB
# Names of the users --users adds: each becomes a Rucio account and a scope user.<name>.
_USER_RE = re.compile(r"^[a-z][a-z0-9_-]{0,19}$")
DATABASES = ("sqlite", "postgresql")
# 2: the server's rucio.cfg selects the owners' policy package and turns multi-hop off; a
# playground made before is set up again on its next start.
STATE_VERSION = 2

# What the facility owns under its root; a fresh start removes only these (never notebooks/).
_OWNED = (
    "rucio",
    "storage",
    "postgres",
    "logs",
    "gateway",
    "ledger",
    "lab-state",
    "staging",  # no longer made (generated files are cached): removed from older playgrounds
    "state.json",
    "facility.json",
    "seed.json",
    "pids.json",
    "bootstrap-spec.json",
    "seed-spec.json",
    "users-spec.json",
)


def default_root() -> Path:
    """``$WP5_PLAYGROUND_DIR``, else ``~/.local/share/jupyter-wp5/playground``."""
    env = os.environ.get("WP5_PLAYGROUND_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "jupyter-wp5" / "playground"


class Facility:
    """A self-contained analysis facility on loopback: Rucio, storage elements, seeded datasets.

    Parameters
    ----------
    root:
        Directory holding all state (database, storage, configs, logs). Reused on the next start.
    fresh:
        Remove the previous state under ``root`` first (``root/notebooks`` is kept).
    events_per_file, files_per_dataset:
        Size of the seeded NanoAOD datasets at the ``small`` scale (only used when seeding, i.e.
        on the first start).
    use_xrootd:
        Serve storage with XRootD (``None``: when the ``xrootd`` binary is installed). Fixed at the
        first start, since RSE protocols in the database name it.
    gateway:
        Also run a dask-gateway server with cpu, gpu and arm profiles (see
        :mod:`jupyter_wp5.playground.gateway`: its gpu workers are x86 processes tagged ``GPU=1``
        for routing, not real hardware). New ports and password each start.
    users:
        Named users, each with a Rucio account, userpass identity, scope ``user.<name>`` and
        quotas of their own (see :meth:`add_users`), made on every start if missing.
    database:
        Rucio's database: ``"sqlite"`` (a file) or ``"postgresql"`` (a PostgreSQL server of the
        playground's own, see :mod:`.postgres`). ``None``: what the playground was created with,
        else SQLite. Fixed at the first start.
    scale:
        How much data to seed: ``"small"``, ``"medium"`` or ``"large"`` (see :mod:`.scales`).
        ``None``: what the playground was created with, else small. Fixed at the first start.
    ledger:
        Also run the access ledger: its log and the INAF and Leonardo witnesses (see
        :mod:`jupyter_wp5.playground.ledger`). Keys and entries are kept under ``root/ledger``.
    arm_worker:
        The emulated aarch64 worker command for the gateway's arm profile (none without it).

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        root: Path | None = None,
        fresh: bool = False,
        events_per_file: int = 5000,
        files_per_dataset: int = 2,
        use_xrootd: bool | None = None,
        gateway: bool = False,
        users: Iterable[str] = (),
        database: str | None = None,
        scale: str | None = None,
        ledger: bool = True,
        arm_worker: list[str] | None = None,
    ) -> None:
        if scale is not None and scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
        if database is not None and database not in DATABASES:
            raise ValueError(f"database must be one of {', '.join(DATABASES)}, not {database!r}")
        self.root = Path(root or default_root()).expanduser().resolve()
        self.fresh = fresh
        self.events_per_file = events_per_file
        self.files_per_dataset = files_per_dataset
        self.use_xrootd = use_xrootd
        self.users = list(users)
        self.database = database
        self.scale = scale
        self.postgres: PostgresServer | None = None
        self.files = RucioFiles(self.root / "rucio")
        self.processes = ProcessRegistry(self.root / "pids.json", self.root / "logs")
        self.storage: list[StorageElement] = []
        self.info: FacilityInfo | None = None
        self._rucio: RucioServer | None = None
        self._transfers: TransferDaemons | None = None
        self.gateway = (
            PlaygroundGateway(self.root / "gateway", self.processes, arm_worker)
            if gateway
            else None
        )
        self.ledger = PlaygroundLedger(self.root / "ledger", self.processes) if ledger else None
        self._lock: IO[str] | None = None

    # -- public API --------------------------------------------------------------------------

    @property
    def rucio(self) -> RucioServer:
        """The Rucio server (``stop()``/``start()`` it to simulate an outage)."""
        if self._rucio is None:
            raise RuntimeError("the facility has not been started")
        return self._rucio

    @property
    def transfers(self) -> TransferDaemons:
        """Rucio's judge and conveyor daemons with the playground's transfertool."""
        if self._transfers is None:
            raise RuntimeError("the facility has not been started")
        return self._transfers

    def stop_storage(self, rse: str) -> None:
        """Take one storage element offline (its XRootD server stops, or its directory moves
        aside); Rucio is not told, so transfers to it fail as they would at a real site."""
        self._storage_element(rse).stop(self.processes)

    def start_storage(self, rse: str, throughput: int | None = None) -> None:
        """Bring a storage element taken offline by :meth:`stop_storage` back; with
        ``throughput`` (bytes per second, XRootD only) it moves data no faster than that."""
        element = self._storage_element(rse)
        if throughput is not None and not element.uses_xrootd:
            raise ValueError(f"{rse} is a directory storage element: it cannot be throttled")
        element.throughput = throughput
        element.start(self.processes)

    def add_users(self, names: Iterable[str]) -> dict[str, Path]:
        """Give each named user a Rucio account of that name, a userpass identity, a scope
        ``user.<name>`` and the ordinary account's quotas; return each user's client rucio.cfg
        (0600, under the playground's root; the password is only there). Users made before keep
        their password. Needs a started facility."""
        wanted = list(dict.fromkeys(names))
        for name in wanted:
            if not _USER_RE.match(name) or name in (ACCOUNT, "root"):
                raise ValueError(
                    f"'{name}' cannot be a playground user: use lower-case letters, digits, '_' "
                    f"and '-' (at most 20), and neither '{ACCOUNT}' nor 'root'"
                )
        for name in wanted:
            cfg = self.files.client_cfg(name)
            if not cfg.exists():
                write_client_config(cfg, self.files, self.rucio.url, name, name, new_password())
        self._run_admin(
            "users",
            {
                "users": [
                    {"account": name, "cfg": str(self.files.client_cfg(name))} for name in wanted
                ],
                "quotas": QUOTAS,
            },
        )
        state = self._load_state()
        state["users"] = sorted({*state.get("users", []), *wanted})
        self._save_state(state)
        if self.info is not None:
            self.info.users.update({name: self.files.client_cfg(name) for name in wanted})
        return {name: self.files.client_cfg(name) for name in wanted}

    def _storage_element(self, rse: str) -> StorageElement:
        for element in self.storage:
            if element.rse == rse:
                return element
        raise KeyError(rse)

    def start(self) -> FacilityInfo:
        """Start Rucio, storage and the transfer daemons; bootstrap and seed on the first start.
        Blocks until ready."""
        if self.info is not None:
            return self.info
        self.root.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def pids(self) -> list[int]:
        """Pids of every process the facility started that is still running."""
        return self.processes.pids()

    def stop(self) -> None:
        """Stop everything the facility started (newest first), wait for it to be gone, and let
        go of the root (another :class:`Facility` may start there now)."""
        self.processes.stop_all()
        self.info = None
        self._release_lock()

    def remove(self) -> None:
        """Stop, then delete all the state the facility owns (``root/notebooks`` is kept)."""
        self.processes.stop_all()
        self.info = None
        self._wipe()
        self._release_lock()

    def __enter__(self) -> Facility:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- start-up steps ----------------------------------------------------------------------

    def _acquire_lock(self) -> None:
        lock = (self.root / ".lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise RuntimeError(f"another playground is running with root {self.root}") from None
        self._lock = lock

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _start(self) -> FacilityInfo:
        # Only our own lock is held, so anything recorded in pids.json is a crashed run's.
        self.processes.kill_leftovers()
        state = self._load_state()
        if self.fresh or not state.get("complete"):
            self._wipe()
            state = self._new_state()
        self._save_state(state)

        venv = ensure_server_venv(log=self.root / "logs" / "rucio-venv.log")
        if state["database"] == "postgresql":
            self.postgres = PostgresServer(
                self.root / "postgres", state["postgres_port"], self.files.pgpass, self.processes
            )
            self.postgres.start()
        database_url = self.postgres.url if self.postgres is not None else self.files.sqlite_url
        if not self._schema_built(state):
            write_alembic_ini(self.files, venv.rucio_package, database_url)

        self.storage = [
            StorageElement(rse, Path(state["storage_base"]) / rse, state["xrootd_ports"].get(rse))
            for rse in RSES
        ]
        for element in self.storage:
            element.prepare()
            element.start(self.processes)

        self._rucio = RucioServer(venv, self.files, state["rucio_port"], self.processes)
        if not self._schema_built(state):
            self._rucio.init_database()
            self.files.schema_marker.touch()
        self._rucio.start()

        if not state.get("complete"):
            self._run_admin("bootstrap", self._bootstrap_spec())
            self._run_admin("seed", self._seed_spec(state))
            state["complete"] = True
            self._save_state(state)
        if not state.get("communities"):
            # Its own step, so that a playground seeded before communities existed gains them.
            self.add_users(COMMUNITY_ACCOUNTS)
            self._run_admin("communities", {"member": ACCOUNT})
            state = self._load_state()
            state["communities"] = True
            self._save_state(state)

        if self.users:
            self.add_users(self.users)
            state = self._load_state()

        # After seeding: the seed's own writes then never compete with the daemons' for SQLite.
        self._transfers = TransferDaemons(self._rucio, self.processes)
        self._transfers.start()
        gateway = self.gateway.start() if self.gateway is not None else None
        ledger = self.ledger.start() if self.ledger is not None else None
        self.info = dataclasses.replace(self._make_info(state, gateway), ledger=ledger)
        self.info.write(self.root / "facility.json")
        return self.info

    def _schema_built(self, state: dict[str, Any]) -> bool:
        # Before the marker existed, an SQLite file meant a built schema.
        legacy = state["database"] == "sqlite" and self.files.database.exists()
        return self.files.schema_marker.exists() or legacy

    def _load_state(self) -> dict[str, Any]:
        try:
            state = json.loads((self.root / "state.json").read_text())
        except (OSError, ValueError):
            return {}
        if state.get("version") != STATE_VERSION:
            return {}
        mismatch = self.use_xrootd is not None and bool(self.use_xrootd) != state.get("use_xrootd")
        if mismatch and not self.fresh:
            raise RuntimeError(
                f"the playground in {self.root} was created with use_xrootd="
                f"{state.get('use_xrootd')}; start it fresh to change that"
            )
        # Playgrounds made before these choices existed are small and on SQLite.
        state.setdefault("database", "sqlite")
        state.setdefault("scale", "small")
        for key, wanted in (("database", self.database), ("scale", self.scale)):
            if wanted is not None and wanted != state[key] and not self.fresh:
                raise RuntimeError(
                    f"the playground in {self.root} was created with {key}={state[key]}; "
                    "start it fresh to change that"
                )
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        path = self.root / "state.json"
        path.with_suffix(".tmp").write_text(json.dumps(state, indent=2))
        path.with_suffix(".tmp").replace(path)

    def _wipe(self) -> None:
        for name in _OWNED:
            path = self.root / name
            if path.is_symlink():
                # Kept outside root (see privileges.reachable_dir): remove the target too.
                shutil.rmtree(path.resolve(), ignore_errors=True)
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def _new_state(self) -> dict[str, Any]:
        use_xrootd = self.use_xrootd
        if use_xrootd is None:
            use_xrootd = storage_mod.xrootd_available()
        elif use_xrootd and not storage_mod.xrootd_available():
            raise RuntimeError("use_xrootd=True but xrootd, xrdcp or xrdfs is not installed")
        database = self.database or "sqlite"
        if database == "postgresql" and postgres_bin() is None:
            raise RuntimeError(
                "database=postgresql but PostgreSQL is not installed (Debian: apt-get install "
                "postgresql)"
            )
        ports = free_ports(2 + len(RSES))
        base = self._place(storage_mod.storage_base(self.root, use_xrootd), "storage")

        url = f"http://127.0.0.1:{ports[0]}"
        root_password = new_password()
        self.files.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.files.dir, 0o700)
        if database == "postgresql":
            self._place(reachable_dir(self.root, "postgres", running_as_root()), "postgres")
            write_passfile(self.files.pgpass, ports[-1], new_password())
            database_url = PostgresServer(
                self.root / "postgres", ports[-1], self.files.pgpass, self.processes
            ).url
        else:
            database_url = self.files.sqlite_url
        write_server_config(self.files, url, root_password, self.root / "logs", database_url)
        write_client_config(
            self.files.root_cfg, self.files, url, "root", ROOT_IDENTITY, root_password
        )
        write_client_config(
            self.files.client_cfg(ACCOUNT), self.files, url, ACCOUNT, ACCOUNT, new_password()
        )
        scale = SCALES[self.scale or "small"]
        return {
            "version": STATE_VERSION,
            "complete": False,
            "use_xrootd": use_xrootd,
            "rucio_port": ports[0],
            "xrootd_ports": dict(zip(RSES, ports[1:-1], strict=True)) if use_xrootd else {},
            "database": database,
            "scale": self.scale or "small",
            "postgres_port": ports[-1] if database == "postgresql" else None,
            "storage_base": str(base),
            "events_per_file": scale.events_per_file or self.events_per_file,
            "files_per_dataset": scale.files_per_dataset or self.files_per_dataset,
        }

    def _place(self, directory: Path, name: str) -> Path:
        """Create ``directory`` for ``root/name``; one outside root gets a symlink there."""
        if directory != self.root / name:
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            os.chmod(directory, 0o755)
            (self.root / name).symlink_to(directory)
        return directory

    def _bootstrap_spec(self) -> dict[str, Any]:
        return {
            "account": ACCOUNT,
            "account_cfg": str(self.files.client_cfg(ACCOUNT)),
            "scopes": list(SCOPES),
            "admin_quota": ADMIN_QUOTA,
            "rses": [
                {
                    "name": element.rse,
                    "protocol": element.protocol(),
                    "attributes": {
                        "site": element.rse,
                        "type": "DISK",
                        "wp5_storage": "xrootd" if element.uses_xrootd else "posix",
                    },
                    "quota": QUOTAS[element.rse],
                }
                for element in self.storage
            ],
        }

    def _seed_spec(self, state: dict[str, Any]) -> dict[str, Any]:
        catalogue = catalogue_plan(RSES[0]) if SCALES[state["scale"]].catalogue else None
        return {
            "cache": str(default_cache_dir()),
            "output": str(self.root / "seed.json"),
            "events_per_file": state["events_per_file"],
            "files_per_dataset": state["files_per_dataset"],
            "origin_rse": RSES[0],
            "second_copy_rse": RSES[1],
            "catalogue": dataclasses.asdict(catalogue) if catalogue is not None else None,
            "rucio_python": str(self.rucio.venv.python),
            "rucio_server_config": str(self.files.server_cfg),
        }

    def _run_admin(self, step: str, spec: dict[str, Any]) -> None:
        """Run ``jupyter_wp5.playground.<step>`` as the admin account in a child process."""
        spec_path = self.root / f"{step}-spec.json"
        spec_path.write_text(json.dumps(spec, indent=2))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUCIO_")}
        env["RUCIO_CONFIG"] = str(self.files.root_cfg)
        package_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_parent, env.get("PYTHONPATH", "")) if p
        )
        log = self.root / "logs" / f"{step}.log"
        with log.open("ab") as out:
            done = subprocess.run(
                [sys.executable, "-m", f"jupyter_wp5.playground.{step}", str(spec_path)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                check=False,
            )
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise RuntimeError(f"playground {step} failed; log {log}:\n{tail}")

    def _make_info(self, state: dict[str, Any], gateway: GatewayInfo | None) -> FacilityInfo:
        seeded = json.loads((self.root / "seed.json").read_text())
        return FacilityInfo(
            root=self.root,
            rucio_url=self.rucio.url,
            rucio_config=self.files.client_cfg(ACCOUNT),
            root_rucio_config=self.files.root_cfg,
            account=ACCOUNT,
            rses=list(RSES),
            datasets=[SeededDataset.from_dict(d) for d in seeded["datasets"]],
            storage={element.rse: element.url for element in self.storage},
            containers=seeded.get("containers", {}),
            quotas={rse: QUOTAS[rse] for rse in RSES},
            uses_xrootd=bool(state["use_xrootd"]),
            database=state["database"],
            scale=state["scale"],
            catalogue=seeded.get("catalogue"),
            gateway=gateway,
            users={name: self.files.client_cfg(name) for name in state.get("users", [])},
        )
