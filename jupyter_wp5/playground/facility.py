"""The playground facility: Rucio server, storage elements and seeded data on loopback."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from . import storage as storage_mod
from .gateway import GatewayInfo, PlaygroundGateway
from .info import FacilityInfo, SeededDataset
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
from .storage import StorageElement
from .transfers import TransferDaemons

__all__ = ["ACCOUNT", "RSES", "Facility", "default_root"]

ACCOUNT = "jovyan"
RSES = ("SITE-A", "SITE-B", "SITE-C")
SCOPES = ("cms", "space", f"user.{ACCOUNT}")
GB = 1000**3
# SITE-C's quota for the ordinary account is deliberately small: every seeded dataset exceeds
# it (with the default 5000 events per file, datasets are 0.3 to 0.5 MB).
QUOTAS = {"SITE-A": 50 * GB, "SITE-B": 50 * GB, "SITE-C": 100 * 1000}
ADMIN_QUOTA = 1000 * GB
# 2: the server's rucio.cfg selects the owners' policy package and turns multi-hop off; a
# playground made before is set up again on its next start.
STATE_VERSION = 2

# What the facility owns under its root; a fresh start removes only these (never notebooks/).
_OWNED = (
    "rucio",
    "storage",
    "logs",
    "gateway",
    "lab-state",
    "staging",
    "state.json",
    "facility.json",
    "seed.json",
    "pids.json",
    "bootstrap-spec.json",
    "seed-spec.json",
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
        Size of the seeded NanoAOD datasets (only used when seeding, i.e. on the first start).
    use_xrootd:
        Serve storage with XRootD (``None``: when the ``xrootd`` binary is installed). Fixed at the
        first start, since RSE protocols in the database name it.
    gateway:
        Also run a dask-gateway server with cpu, gpu and arm profiles (see
        :mod:`jupyter_wp5.playground.gateway`: its gpu and arm workers are x86 processes tagged
        ``GPU=1`` / ``ARM=1`` for routing, not real hardware). New ports and password each start.

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
    ) -> None:
        self.root = Path(root or default_root()).expanduser().resolve()
        self.fresh = fresh
        self.events_per_file = events_per_file
        self.files_per_dataset = files_per_dataset
        self.use_xrootd = use_xrootd
        self.files = RucioFiles(self.root / "rucio")
        self.processes = ProcessRegistry(self.root / "pids.json", self.root / "logs")
        self.storage: list[StorageElement] = []
        self.info: FacilityInfo | None = None
        self._rucio: RucioServer | None = None
        self._transfers: TransferDaemons | None = None
        self.gateway = PlaygroundGateway(self.root / "gateway", self.processes) if gateway else None
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
        """Stop everything the facility started (newest first) and wait for it to be gone."""
        self.processes.stop_all()
        self.info = None

    def remove(self) -> None:
        """Stop, then delete all the state the facility owns (``root/notebooks`` is kept)."""
        self.stop()
        self._wipe()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

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

    def _start(self) -> FacilityInfo:
        # Only our own lock is held, so anything recorded in pids.json is a crashed run's.
        self.processes.kill_leftovers()
        state = self._load_state()
        if self.fresh or not state.get("complete"):
            self._wipe()
            state = self._new_state()
        self._save_state(state)

        venv = ensure_server_venv(log=self.root / "logs" / "rucio-venv.log")
        if not self.files.database.exists():
            write_alembic_ini(self.files, venv.rucio_package)

        self.storage = [
            StorageElement(rse, Path(state["storage_base"]) / rse, state["xrootd_ports"].get(rse))
            for rse in RSES
        ]
        for element in self.storage:
            element.prepare()
            element.start(self.processes)

        self._rucio = RucioServer(venv, self.files, state["rucio_port"], self.processes)
        if not self.files.database.exists():
            self._rucio.init_database()
        self._rucio.start()

        if not state.get("complete"):
            self._run_admin("bootstrap", self._bootstrap_spec())
            self._run_admin("seed", self._seed_spec())
            state["complete"] = True
            self._save_state(state)

        # After seeding: the seed's own writes then never compete with the daemons' for SQLite.
        self._transfers = TransferDaemons(self._rucio, self.processes)
        self._transfers.start()
        gateway = self.gateway.start() if self.gateway is not None else None
        self.info = self._make_info(state, gateway)
        self.info.write(self.root / "facility.json")
        return self.info

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
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        path = self.root / "state.json"
        path.with_suffix(".tmp").write_text(json.dumps(state, indent=2))
        path.with_suffix(".tmp").replace(path)

    def _wipe(self) -> None:
        for name in _OWNED:
            path = self.root / name
            if path.is_symlink():
                # Storage kept outside root (see storage.storage_base): remove the target too.
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
        ports = free_ports(1 + len(RSES))
        base = storage_mod.storage_base(self.root, use_xrootd)
        if base != self.root / "storage":
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(parents=True)
            os.chmod(base, 0o755)
            (self.root / "storage").symlink_to(base)

        url = f"http://127.0.0.1:{ports[0]}"
        root_password = new_password()
        self.files.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.files.dir, 0o700)
        write_server_config(self.files, url, root_password, self.root / "logs")
        write_client_config(
            self.files.root_cfg, self.files, url, "root", ROOT_IDENTITY, root_password
        )
        write_client_config(
            self.files.client_cfg(ACCOUNT), self.files, url, ACCOUNT, ACCOUNT, new_password()
        )
        return {
            "version": STATE_VERSION,
            "complete": False,
            "use_xrootd": use_xrootd,
            "rucio_port": ports[0],
            "xrootd_ports": dict(zip(RSES, ports[1:], strict=True)) if use_xrootd else {},
            "storage_base": str(base),
            "events_per_file": self.events_per_file,
            "files_per_dataset": self.files_per_dataset,
        }

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

    def _seed_spec(self) -> dict[str, Any]:
        return {
            "staging": str(self.root / "staging"),
            "output": str(self.root / "seed.json"),
            "events_per_file": self.events_per_file,
            "files_per_dataset": self.files_per_dataset,
            "origin_rse": RSES[0],
            "second_copy_rse": RSES[1],
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
            gateway=gateway,
        )
