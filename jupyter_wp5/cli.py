"""``jupyter wp5 ...``: command-line entry points of jupyter-wp5."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from jupyter_core.application import JupyterApp
from traitlets import Bool, Enum, Integer, Unicode

__all__ = ["DemosApp", "LedgerApp", "LedgerVerifyApp", "PlaygroundApp", "Wp5CommandApp", "main"]

READY_LINE = "wp5 playground ready"


class _Stop(Exception):
    """Raised from the signal handlers to unwind into the clean-up."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop(signum)


class PlaygroundApp(JupyterApp):
    """Start the self-contained facility (Rucio, storage, seeded data) and JupyterLab."""

    name = "jupyter-wp5-playground"
    description = """Start the jupyter-wp5 playground on loopback.

    Brings up a Rucio server (in its own virtualenv, created on first use), storage elements
    (XRootD servers when `xrootd` is installed, plain directories otherwise), seeded datasets
    (synthetic NanoAOD and an orbital-debris table) and JupyterLab configured to use them.
    State is kept under --root and reused on the next start; --fresh starts over.
    Ctrl-C stops everything it started.
    """
    examples = """
    jupyter wp5 playground
    jupyter wp5 playground --fresh --port 8890
    jupyter wp5 playground --no-lab --root /tmp/wp5
    jupyter wp5 playground --gateway
    jupyter wp5 playground --users alice,bob
    jupyter wp5 playground --arm
    jupyter wp5 playground --fresh --db postgresql
    jupyter wp5 playground --fresh --db postgresql --scale medium
    """

    fresh = Bool(False, config=True, help="Remove the previous playground state first.")
    lab = Bool(True, config=True, help="Start JupyterLab (disable with --no-lab).")
    root = Unicode(
        "",
        config=True,
        help="State directory (default: $WP5_PLAYGROUND_DIR or "
        "~/.local/share/jupyter-wp5/playground).",
    )
    port = Integer(0, config=True, help="JupyterLab's port (default: 8888, or a free one).")
    token = Unicode("", config=True, help="JupyterLab's token (default: a random one).")
    xrootd = Bool(
        None,
        allow_none=True,
        config=True,
        help="Serve storage with XRootD (default: when installed). Fixed at the first start.",
    )
    gateway = Bool(
        False,
        config=True,
        help="Also run a dask-gateway server (cpu and gpu profiles, and arm with --arm; its gpu "
        "workers are x86 processes tagged GPU=1 for routing) and let JupyterLab's profiles use it.",
    )
    arm = Bool(
        False,
        config=True,
        help="Prepare (once, cached; see `jupyter wp5 arm prepare`) the aarch64 Python that the "
        "arm profile's emulated workers run, so the profile serves real aarch64 workers (qemu).",
    )
    users = Unicode(
        "",
        config=True,
        help="Comma-separated user names; each gets a Rucio account, userpass identity, scope "
        "user.<name> and quota of their own, and a client rucio.cfg under the state directory "
        "(for a JupyterHub in front of the playground: docs/admin-guide.md).",
    )
    db = Enum(
        ["sqlite", "postgresql"],
        None,
        allow_none=True,
        config=True,
        help="Rucio's database: sqlite (a file) or postgresql (a PostgreSQL server of the "
        "playground's own, from Debian's postgresql package). Default: what the playground was "
        "created with, else sqlite. Fixed at the first start.",
    )
    scale = Enum(
        ["small", "medium", "large"],
        None,
        allow_none=True,
        config=True,
        help="How much data to seed. small: 3 NanoAOD datasets of 2 files (--events each) and a "
        "table; medium: 42 NanoAOD files with 2.1 M events in all on the storage, plus a "
        "catalogue-only scope 'archive' of 100,000 files (names, sizes and checksums in Rucio, "
        "no bytes): 1,000 datasets of 90 files in one container and one of 10,000; large: as "
        "medium with 8.4 M events. Generated files are cached in $WP5_DATA_CACHE (default "
        "~/.cache/jupyter-wp5/data). Default: what the playground was created with, else small. "
        "Fixed at the first start.",
    )
    events = Integer(
        5000,
        config=True,
        help="Events per seeded NanoAOD file at --scale small (used on the first start only).",
    )

    flags = {
        **JupyterApp.flags,
        "fresh": ({"PlaygroundApp": {"fresh": True}}, "Remove the previous state first."),
        "no-lab": ({"PlaygroundApp": {"lab": False}}, "Do not start JupyterLab."),
        "gateway": (
            {"PlaygroundApp": {"gateway": True}},
            "Run a dask-gateway server too; JupyterLab's profiles then use it.",
        ),
        "arm": (
            {"PlaygroundApp": {"arm": True}},
            "Prepare the aarch64 Python for emulated ARM workers (once, cached).",
        ),
        "no-xrootd": (
            {"PlaygroundApp": {"xrootd": False}},
            "Plain-directory storage elements even when XRootD is installed.",
        ),
    }
    aliases = {
        **JupyterApp.aliases,
        "root": "PlaygroundApp.root",
        "port": "PlaygroundApp.port",
        "token": "PlaygroundApp.token",
        "events": "PlaygroundApp.events",
        "users": "PlaygroundApp.users",
        "db": "PlaygroundApp.db",
        "scale": "PlaygroundApp.scale",
    }

    def start(self) -> None:
        """Run until SIGINT or SIGTERM, then stop everything and exit 0."""
        from jupyter_wp5.playground import Facility

        signal.signal(signal.SIGINT, _raise_stop)
        signal.signal(signal.SIGTERM, _raise_stop)
        arm_worker = self._prepare_arm() if self.arm else None
        facility = Facility(
            root=Path(self.root) if self.root else None,
            fresh=self.fresh,
            events_per_file=self.events,
            use_xrootd=self.xrootd,
            gateway=self.gateway,
            users=[name.strip() for name in self.users.split(",") if name.strip()],
            arm_worker=arm_worker,
            database=self.db,
            scale=self.scale,
        )
        code = 0
        try:
            self._say(f"Starting the playground in {facility.root} ...")
            info = facility.start()
            lab_url = self._start_lab(facility, info) if self.lab else None
            self._report(facility, info, lab_url)
            self._wait(facility)
        except _Stop:
            pass
        except Exception as err:  # report and exit non-zero, after cleaning up
            self.log.error("playground failed: %s", err)
            code = 1
        finally:
            # A second Ctrl-C must not interrupt the clean-up half way.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            self._say("Stopping the playground ...")
            facility.stop()
            self._say("Stopped.")
        self.exit(code)

    # -- helpers -------------------------------------------------------------------------------

    def _prepare_arm(self) -> list[str]:
        """Prepare the aarch64 tree (once) and return the gateway's emulated worker command."""
        from jupyter_wp5.compute.arm_launcher import dask_worker_command
        from jupyter_wp5.compute.arm_rootfs import ArmRootfs, RootfsError

        rootfs = ArmRootfs.default()
        try:
            rootfs.ensure(log=self._say)
        except RootfsError as err:
            self.log.error("cannot prepare the aarch64 Python: %s", err)
            self.exit(1)
        return dask_worker_command(rootfs)

    @staticmethod
    def _say(text: str) -> None:
        print(text, flush=True)

    def _lab_port(self) -> int:
        from jupyter_wp5.playground.processes import free_ports, port_is_free

        if self.port:
            return self.port
        return 8888 if port_is_free(8888) else free_ports(1)[0]

    def _start_lab(self, facility: Any, info: Any) -> str:
        from jupyter_wp5.demos import copy_demos, demo_notebooks
        from jupyter_wp5.playground.communities import write_lab_config
        from jupyter_wp5.playground.processes import wait_until

        port = self._lab_port()
        token = self.token or secrets.token_hex(24)
        notebooks = info.root / "notebooks"
        # The lab opens on the demos; later starts update them but never over the user's changes.
        first_start = copy_demos(notebooks).copied
        first_demo = demo_notebooks()[0].name
        # The communities, and the ledger's append token (in a 0600 file, not argv or env).
        config = write_lab_config(
            info.root / "lab-state" / "config" / "jupyter_server_config.json",
            info.account,
            info.ledger,
        )
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={notebooks}",
            # The user's requests and cluster records belong to this facility, not to the
            # user's Jupyter data directory: another or a fresh playground starts clean.
            f"--RequestStore.path={info.root / 'lab-state' / 'requests.sqlite'}",
            f"--ClusterManager.records_path={info.root / 'lab-state' / 'clusters.json'}",
        ]
        if os.geteuid() == 0:
            cmd.append("--ServerApp.allow_root=True")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUCIO_")}
        env["RUCIO_CONFIG"] = str(info.rucio_config)
        env["WP5_PLAYGROUND_DIR"] = str(info.root)
        # One more config directory, searched first: `--config FILE` would replace the default
        # jupyter_server_config files of every other directory (those of a test harness, say).
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            filter(None, (str(config.parent), os.environ.get("JUPYTER_CONFIG_PATH")))
        )
        # The token goes through the environment, not argv, so `ps` does not show it.
        env["JUPYTER_TOKEN"] = token
        if info.gateway is not None:
            # The gateway backend reads WP5_GATEWAY_* (the password, too, stays out of argv).
            env.update(info.gateway.environ())
            cmd.append("--ProfileRegistry.default_backend=gateway")
        proc = facility.processes.spawn("jupyterlab", cmd, env=env, cwd=notebooks)
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            req = urllib.request.Request(
                f"{base}/api/status", headers={"Authorization": f"token {token}"}
            )
            try:
                with urllib.request.urlopen(req, timeout=2) as resp:
                    return resp.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_until(answers, 120, f"JupyterLab on {base}", proc=proc, interval=0.25)
        if first_demo in first_start:
            return f"{base}/lab/tree/{first_demo}?token={token}"
        return f"{base}/lab?token={token}"

    def _report(self, facility: Any, info: Any, lab_url: str | None) -> None:
        lines = ["", "jupyter-wp5 playground"]
        if lab_url:
            lines.append(f"  JupyterLab:    {lab_url}")
        lines += [
            f"  Rucio:         {info.rucio_url}  (account {info.account}, {info.database})",
            f"  rucio.cfg:     {info.rucio_config}",
            f"                 (export RUCIO_CONFIG={info.rucio_config} to use it from a shell)",
            *(
                [
                    f"  PostgreSQL:    127.0.0.1:{facility.postgres.port}  (PGPASSFILE="
                    f"{facility.files.pgpass} psql -h 127.0.0.1 -p {facility.postgres.port} "
                    "-U wp5 rucio)"
                ]
                if facility.postgres is not None
                else []
            ),
            "  Storage elements:",
            *(f"    {rse:8s} {info.storage[rse]}" for rse in info.rses),
            "  Datasets:",
            *(
                f"    {d.did}  ({len(d.files)} files, {d.bytes / 1e6:.1f} MB, at "
                f"{', '.join(d.rses)})"
                for d in info.datasets
            ),
            *(
                [
                    f"  Catalogue only: {info.catalogue['scope']}  ({info.catalogue['files']:,} "
                    f"files in {info.catalogue['datasets']:,} datasets, registered at "
                    f"{info.catalogue['rse']}, no bytes)"
                ]
                if info.catalogue
                else []
            ),
            "  Transfers:     Rucio's judge and conveyor daemons with the playground's copy tool",
            "                 (xrdcp or file copy, adler32-verified: the stand-in for FTS)",
            *(
                [
                    f"  dask-gateway:  {info.gateway.address}  (profiles cpu, gpu"
                    f"{', arm' if self.arm else ''}; gpu workers are x86 ones tagged GPU=1)"
                ]
                if info.gateway is not None
                else []
            ),
            *(f"  User {name}: rucio.cfg {path}" for name, path in info.users.items()),
            *(
                [
                    f"  Ledger:        {info.ledger.url}  (witnesses: "
                    f"{', '.join(info.ledger.witnesses)}; keys in {info.ledger.keys_file})"
                ]
                if info.ledger is not None
                else []
            ),
            *(
                ["  ARM workers:   real aarch64 under qemu (profile arm; jupyter wp5 arm --help)"]
                if self.arm
                else []
            ),
            f"  State and logs: {info.root}",
            "",
            "Press Ctrl-C to stop.",
            READY_LINE,
        ]
        self._say("\n".join(lines))

    @staticmethod
    def _wait(facility: Any) -> None:
        # Sleep until a signal arrives; stop early if a child dies.
        while True:
            time.sleep(1)
            for name in ("postgres", "rucio-server", "rucio-transfers", "jupyterlab"):
                proc = facility.processes.get(name)
                if proc is not None and not proc.running():
                    raise RuntimeError(f"{name} exited unexpectedly; see {proc.log}")


class LedgerVerifyApp(JupyterApp):
    """Verify ledger receipts offline."""

    name = "jupyter-wp5-ledger-verify"
    description = """Verify ledger receipts offline: each receipt's entry must be included in its
    checkpoint's Merkle tree (RFC 9162), and the checkpoint must be signed by the log operator and
    cosigned by every witness. Nothing but the receipt file is needed. With --keys, the receipt is
    checked against those published verifier keys instead of the ones it carries.
    Exits 0 when every receipt verifies, 1 otherwise.
    """
    examples = """
    jupyter wp5 ledger verify receipt.json
    jupyter wp5 ledger verify --keys PLAYGROUND_ROOT/ledger/verifier-keys.txt receipt.json
    """

    keys = Unicode(
        "",
        config=True,
        help="File of trusted verifier keys (name+hash+base64, one a line; the log operator's "
        "and every witness's) to check against instead of the receipt's own.",
    )
    aliases = {**JupyterApp.aliases, "keys": "LedgerVerifyApp.keys"}

    def start(self) -> None:
        """Verify each receipt named on the command line."""
        from jupyter_wp5.ledger import ReceiptError, verify

        if not self.extra_args:
            self.print_help()
            self.log.error("name one or more receipt files")
            self.exit(2)
        trusted = None
        if self.keys:
            trusted = [k for k in Path(self.keys).read_text().splitlines() if k.strip()]
        failed = 0
        for path in self.extra_args:
            try:
                result = verify(path, trusted_keys=trusted)
            except ReceiptError as err:
                failed += 1
                print(f"{path}: FAILED: {err}", flush=True)
            else:
                print(f"{path}: OK: {result.summary()}", flush=True)
        self.exit(1 if failed else 0)


class DemosApp(JupyterApp):
    """``jupyter wp5 demos DIR``: copy the demo notebooks into a folder."""

    name = "jupyter-wp5-demos"
    description = """Copy the jupyter-wp5 demo notebooks into DIR (created if needed).

    A notebook you changed is never overwritten; one still as copied earlier is updated to the
    version shipped with this jupyter-wp5. The demos run against `jupyter wp5 playground`."""
    examples = """
    jupyter wp5 demos ~/wp5-demos
    """

    def start(self) -> None:
        """Copy the demos into the one folder given on the command line."""
        from jupyter_wp5.demos import copy_demos

        if len(self.extra_args) != 1:
            self.print_help()
            self.log.error("give exactly one folder: jupyter wp5 demos DIR")
            self.exit(2)
        dest = Path(self.extra_args[0]).expanduser()
        done = copy_demos(dest)
        for verb, names in (
            ("copied", done.copied),
            ("updated", done.updated),
            ("kept (changed by you)", done.kept),
            ("already current", done.current),
        ):
            for name in names:
                print(f"{verb}: {dest / name}")


class CommandGroup(JupyterApp):
    """A command that only holds subcommands."""

    def start(self) -> None:
        """Run the chosen subcommand, or list them."""
        if self.subapp is not None:
            self.subapp.start()
            return
        self.print_help()
        self.log.error("choose a subcommand: %s", ", ".join(self.subcommands))
        self.exit(1)


class LedgerApp(CommandGroup):
    """``jupyter wp5 ledger``: the access ledger's tools."""

    name = "jupyter-wp5-ledger"
    description = """Tools of the access ledger (the tamper-evident log of access events)."""
    examples = """
    jupyter wp5 ledger verify receipt.json
    """
    subcommands = {
        "verify": (LedgerVerifyApp, LedgerVerifyApp.description.splitlines()[0]),
    }


class Wp5CommandApp(CommandGroup):
    """``jupyter wp5``: tools of the jupyter-wp5 analysis-facility extension."""

    name = "jupyter-wp5"
    description = """jupyter-wp5: find data in Rucio, move it next to the compute, run Dask
    clusters, from JupyterLab. See the subcommands below."""
    examples = """
    jupyter wp5 playground --help
    jupyter wp5 playground
    jupyter wp5 ledger verify receipt.json
    jupyter wp5 demos ~/wp5-demos
    """
    subcommands = {
        "playground": (PlaygroundApp, PlaygroundApp.description.splitlines()[0]),
        "demos": (DemosApp, DemosApp.description.splitlines()[0]),
        "ledger": (LedgerApp, LedgerApp.description.splitlines()[0]),
        "arm": ("jupyter_wp5.cli_arm.ArmApp", "Emulated aarch64 (ARM) workers."),
    }


main = Wp5CommandApp.launch_instance

if __name__ == "__main__":
    main()
