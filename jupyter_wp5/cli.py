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
from traitlets import Bool, Integer, Unicode

__all__ = ["DemosApp", "PlaygroundApp", "WP5App", "main"]

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
        help="Also run a dask-gateway server (cpu, gpu, arm profiles; its gpu and arm workers are "
        "x86 processes tagged GPU=1 / ARM=1 for routing) and let JupyterLab's profiles use it.",
    )
    events = Integer(
        5000, config=True, help="Events per seeded NanoAOD file (used on the first start only)."
    )

    flags = {
        **JupyterApp.flags,
        "fresh": ({"PlaygroundApp": {"fresh": True}}, "Remove the previous state first."),
        "no-lab": ({"PlaygroundApp": {"lab": False}}, "Do not start JupyterLab."),
        "gateway": (
            {"PlaygroundApp": {"gateway": True}},
            "Run a dask-gateway server too; JupyterLab's profiles then use it.",
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
    }

    def start(self) -> None:
        """Run until SIGINT or SIGTERM, then stop everything and exit 0."""
        from jupyter_wp5.playground import Facility

        signal.signal(signal.SIGINT, _raise_stop)
        signal.signal(signal.SIGTERM, _raise_stop)
        facility = Facility(
            root=Path(self.root) if self.root else None,
            fresh=self.fresh,
            events_per_file=self.events,
            use_xrootd=self.xrootd,
            gateway=self.gateway,
        )
        code = 0
        try:
            self._say(f"Starting the playground in {facility.root} ...")
            info = facility.start()
            lab_url = self._start_lab(facility, info) if self.lab else None
            self._report(info, lab_url)
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
        from jupyter_wp5.playground.processes import wait_until

        port = self._lab_port()
        token = self.token or secrets.token_hex(24)
        notebooks = info.root / "notebooks"
        # The lab opens on the demos; later starts update them but never over the user's changes.
        first_start = copy_demos(notebooks).copied
        first_demo = demo_notebooks()[0].name
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

    def _report(self, info: Any, lab_url: str | None) -> None:
        lines = ["", "jupyter-wp5 playground"]
        if lab_url:
            lines.append(f"  JupyterLab:    {lab_url}")
        lines += [
            f"  Rucio:         {info.rucio_url}  (account {info.account})",
            f"  rucio.cfg:     {info.rucio_config}",
            f"                 (export RUCIO_CONFIG={info.rucio_config} to use it from a shell)",
            "  Storage elements:",
            *(f"    {rse:8s} {info.storage[rse]}" for rse in info.rses),
            "  Datasets:",
            *(
                f"    {d.did}  ({len(d.files)} files, {d.bytes / 1e6:.1f} MB, at "
                f"{', '.join(d.rses)})"
                for d in info.datasets
            ),
            "  Transfers:     Rucio's judge and conveyor daemons with the playground's copy tool",
            "                 (xrdcp or file copy, adler32-verified: the stand-in for FTS)",
            *(
                [
                    f"  dask-gateway:  {info.gateway.address}  (profiles cpu, gpu, arm; "
                    "gpu and arm are x86 workers tagged GPU=1 / ARM=1)"
                ]
                if info.gateway is not None
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
            for name in ("rucio-server", "rucio-transfers", "jupyterlab"):
                proc = facility.processes.get(name)
                if proc is not None and not proc.running():
                    raise RuntimeError(f"{name} exited unexpectedly; see {proc.log}")


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


class WP5App(JupyterApp):
    """``jupyter wp5``: tools of the jupyter-wp5 analysis-facility extension."""

    name = "jupyter-wp5"
    description = """jupyter-wp5: find data in Rucio, move it next to the compute, run Dask
    clusters, from JupyterLab. See the subcommands below."""
    examples = """
    jupyter wp5 playground --help
    jupyter wp5 playground
    jupyter wp5 demos ~/wp5-demos
    """
    subcommands = {
        "playground": (PlaygroundApp, PlaygroundApp.description.splitlines()[0]),
        "demos": (DemosApp, DemosApp.description.splitlines()[0]),
    }

    def start(self) -> None:
        """Run the chosen subcommand, or list them."""
        if self.subapp is not None:
            self.subapp.start()
            return
        self.print_help()
        self.log.error("choose a subcommand: %s", ", ".join(self.subcommands))
        self.exit(1)


main = WP5App.launch_instance

if __name__ == "__main__":
    main()
