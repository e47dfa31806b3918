"""`jupyter wp5 playground`: starts the facility, says when it is ready, leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jupyter_wp5.playground import Facility

psutil = pytest.importorskip("psutil")

REPO = Path(__file__).resolve().parents[2]
READY = "wp5 playground ready"
# The first run may create the Rucio server's virtualenv (pip install rucio).
READY_TIMEOUT = 600

pytestmark = [pytest.mark.rucio, pytest.mark.timeout(READY_TIMEOUT + 300)]


@dataclass
class Run:
    """What one `jupyter wp5 playground --no-lab` run showed."""

    returncode: int
    output: str
    pids: list[int]
    ping_ok: bool
    facility: dict
    seconds_to_ready: float
    seen: object = None  # what ``during`` returned while the playground was up


def _run_playground(
    root: Path, *extra: str, lab: bool = False, during: Callable[[str], object] | None = None
) -> Run:
    """Run the CLI until ready, call ``during(output so far)``, then Ctrl-C it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    cmd = [
        sys.executable,
        "-m",
        "jupyter_wp5.cli",
        "playground",
        *(() if lab else ("--no-lab",)),
        "--root",
        str(root),
        "--events",
        "1000",
        *extra,
    ]
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the readiness line ends the loop; EOF means it died
            lines.append(line)
            if line.strip() == READY:
                break
            if time.monotonic() - started > READY_TIMEOUT:
                break
        ready_after = time.monotonic() - started
        assert any(line.strip() == READY for line in lines), "".join(lines)

        facility = json.loads((root / "facility.json").read_text())
        with urllib.request.urlopen(f"{facility['rucio_url']}/ping", timeout=5) as resp:
            ping_ok = resp.status == 200 and b"version" in resp.read()
        pids = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        seen = during("".join(lines)) if during is not None else None

        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        lines.append(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Run(proc.returncode, "".join(lines), pids, ping_ok, facility, ready_after, seen)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("playground")
    yield path
    # Storage may live outside root (XRootD as root): the facility knows what to delete.
    Facility(root=path).remove()


@pytest.fixture(scope="module")
def first_run(root: Path) -> Run:
    return _run_playground(root)


def test_playground_starts_answers_and_stops_cleanly(first_run: Run) -> None:
    assert first_run.ping_ok
    assert first_run.returncode == 0, first_run.output
    # Rucio server, storage servers: more than the CLI process itself.
    assert len(first_run.pids) >= 2
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in first_run.pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in first_run.pids if _alive(p)] == []
    assert "Rucio:" in first_run.output and "rucio.cfg:" in first_run.output
    for rse, url in first_run.facility["storage"].items():
        assert f"{rse}" in first_run.output and url in first_run.output
    assert "password" not in json.dumps(first_run.facility)


def test_second_start_reuses_state(root: Path, first_run: Run) -> None:
    seed_file = root / "seed.json"
    seeded_at = seed_file.stat().st_mtime_ns
    second = _run_playground(root)
    assert second.returncode == 0, second.output
    assert second.ping_ok
    assert seed_file.stat().st_mtime_ns == seeded_at  # no re-seeding
    assert second.facility["rucio_url"] == first_run.facility["rucio_url"]
    assert second.facility["storage"] == first_run.facility["storage"]
    assert second.facility["datasets"] == first_run.facility["datasets"]
    assert [p for p in second.pids if _alive(p)] == []


def lab_base_url(output: str) -> str:
    """The server's base URL from the playground's "JupyterLab:" line, which on a first start
    opens the first demo (``.../lab/tree/01-....ipynb?token=...``) and later ``.../lab?token=``."""
    (lab_line,) = [line for line in output.splitlines() if "JupyterLab:" in line]
    return lab_line.split()[1].split("/lab")[0]


def test_gateway_flag_gives_lab_gateway_profiles(root: Path, first_run: Run) -> None:
    """--gateway: a dask-gateway runs, and the JupyterLab it starts serves profiles from it."""
    token = "t" * 32

    def profiles(output: str) -> dict:
        base = lab_base_url(output)
        req = urllib.request.Request(
            f"{base}/wp5/api/profiles", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return {p["name"]: p for p in json.loads(resp.read())["items"]}

    run = _run_playground(root, "--gateway", "--token", token, lab=True, during=profiles)
    assert run.returncode == 0, run.output
    assert "dask-gateway:" in run.output
    got = run.seen
    assert {n: (got[n]["backend"], got[n]["servable"]) for n in ("cpu", "gpu")} == {
        n: ("gateway", True) for n in ("cpu", "gpu")
    }
    # No x86 worker is offered as ARM: the gateway has an arm profile only with --arm.
    assert got["arm"]["servable"] is False and got["fpga"]["servable"] is False
    # The password stays out of facility.json and off command lines.
    assert "password" not in json.dumps(run.facility)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in run.pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in run.pids if _alive(p)] == []


def test_lab_gets_the_communities_and_keeps_the_ledger_token_private(
    root: Path, first_run: Run
) -> None:
    """The playground's JupyterLab serves INAF and Leonardo, and reads the ledger's append token
    from its 0600 file: the token is not in its command line, environment (kernels inherit that)
    or configuration (logged at debug level)."""
    token = "t" * 32

    def look(output: str) -> tuple[dict, list[tuple[list[str], dict[str, str]]]]:
        base = lab_base_url(output)
        req = urllib.request.Request(
            f"{base}/wp5/api/access/communities", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            communities = {c["name"]: c for c in json.loads(resp.read())["items"]}
        procs = psutil.Process(os.getpid()).children(recursive=True)
        return communities, [(p.cmdline(), p.environ()) for p in procs if _alive(p.pid)]

    run = _run_playground(root, "--token", token, lab=True, during=look)
    assert run.returncode == 0, run.output
    communities, processes = run.seen
    assert communities["inaf"]["scopes"] == ["space"]
    assert communities["inaf"]["stewards"] == ["inaf-steward"]
    assert communities["leonardo"]["rses"] == ["SITE-C"]
    secret = (root / "ledger" / "keys" / "append.token").read_text().strip()
    config = root / "lab-state" / "config" / "jupyter_server_config.json"
    assert config.stat().st_mode & 0o777 == 0o600 and secret not in config.read_text()
    assert json.loads(config.read_text())["AccessLedger"]["token_file"].endswith("append.token")
    for cmdline, environ in processes:
        assert secret not in " ".join(cmdline) and secret not in json.dumps(environ)


def test_users_flag_gives_each_user_an_account_scope_and_quota(root: Path, first_run: Run) -> None:
    """--users alice,bob: each logs in to Rucio as their own account with their own rucio.cfg."""
    from jupyter_wp5.data.rucio_connection import RucioConnection

    def accounts(output: str) -> dict:
        facility = json.loads((root / "facility.json").read_text())
        admin = RucioConnection(rucio_config=facility["root_rucio_config"]).new_client()
        seen = {}
        for name, cfg in facility["users"].items():
            assert f"User {name}: rucio.cfg {cfg}" in output
            client = RucioConnection(rucio_config=cfg).new_client()
            limits = admin.get_local_account_limits(name)
            seen[name] = (
                client.whoami()["account"],
                oct(Path(cfg).stat().st_mode & 0o777),
                f"user.{name}" in admin.list_scopes_for_account(name),
                limits["SITE-A"] > 0,
            )
        return seen

    run = _run_playground(root, "--users", "alice,bob", during=accounts)
    assert run.returncode == 0, run.output
    # The communities' accounts (inaf-steward, leonardo-user) are playground users too.
    users = ("alice", "bob", "inaf-steward", "leonardo-user")
    assert run.seen == {n: (n, "0o600", True, True) for n in users}
    assert "password" not in json.dumps(run.facility)
