"""A real JupyterHub in front of the playground: ``alice`` and ``bob`` as system users, each with a
single-user server running jupyter-wp5 as their own Rucio account.

The hub runs the configuration the admin guide shows (docs/admin-guide.md, "JupyterHub"), read
from the guide itself, plus what a test needs (free ports, an admin service that makes tokens).
Needs root (``useradd``; the hub starts servers as the users) and configurable-http-proxy in
tests/hub/node_modules (``jlpm install`` there; scripts/test does it).
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
GUIDE = HERE.parents[1] / "docs" / "admin-guide.md"
CHP = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
USERS = ("alice", "bob")
# The GECOS field of the system users this fixture makes (and alone may remove).
MARK = "jupyter-wp5 hub test"
ADMIN_TOKEN_ENV = "WP5_HUB_TEST_TOKEN"
LOCK = Path(tempfile.gettempdir()) / "jupyter-wp5-hub-test.lock"

pytestmark = pytest.mark.hub


def guide_files() -> dict[str, str]:
    """The files the admin guide's JupyterHub section shows, by the name in their first line."""
    text = GUIDE.read_text()
    blocks = re.findall(r"```python\n# (\S+)\n(.*?)```", text, re.S)
    wanted = ("jupyterhub_config.py", "singleuser/jupyter_server_config.py")
    return {name: f"# {name}\n{body}" for name, body in blocks if name in wanted}


def _user_exists(name: str) -> str | None:
    """The user's GECOS field, or None when there is no such user."""
    import pwd

    try:
        return pwd.getpwnam(name).pw_gecos
    except KeyError:
        return None


@contextmanager
def _machine_lock(timeout: float = 300) -> Iterator[None]:
    """One run at a time on this machine may own the system users alice and bob."""
    with LOCK.open("w") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip(f"another test run holds {LOCK} (its users alice and bob)")
                time.sleep(1)
        yield


@pytest.fixture(scope="session")
def system_users() -> Iterator[tuple[str, ...]]:
    """``alice`` and ``bob`` as fresh system users with home directories."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("the JupyterHub tests need root and useradd (they make system users)")
    with _machine_lock():
        yield from _made_users()


def _made_users() -> Iterator[tuple[str, ...]]:
    for name in USERS:
        gecos = _user_exists(name)
        if gecos is not None and gecos != MARK:
            pytest.skip(f"a system user {name} exists that these tests did not make")
        if gecos == MARK:  # left by an interrupted run: start clean
            subprocess.run(["userdel", "-r", "-f", name], check=False, capture_output=True)
        subprocess.run(
            ["useradd", "-m", "-c", MARK, "-s", "/bin/sh", name], check=True, capture_output=True
        )
    yield USERS
    for name in USERS:
        subprocess.run(["userdel", "-r", "-f", name], check=False, capture_output=True)


@dataclass
class Hub:
    """A running hub: its public URL, the admin service's token and each user's own token."""

    url: str
    admin_token: str
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, token: str, body: Any = None, **kwargs: Any) -> Any:
        """``method url/path`` with ``token``; the ``requests`` response."""
        import requests

        kwargs.setdefault("timeout", 60)
        return requests.request(
            method,
            f"{self.url}/{path.lstrip('/')}",
            headers={"Authorization": f"token {token}"},
            json=body,
            **kwargs,
        )

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """The hub's REST API as the admin service; the JSON answer."""
        response = self.request(method, f"hub/api/{path}", self.admin_token, body)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json() if response.content else None

    def wp5(
        self, server: str, method: str, path: str, token: str, body: Any = None
    ) -> tuple[int, Any]:
        """``method /user/<server>/wp5/api/<path>``: (status, JSON body or None). Answers from
        jupyter-wp5 are checked against its OpenAPI contract."""
        from ..api.contract import assert_matches_contract

        response = self.request(
            method, f"user/{server}/wp5/api/{path}", token, body, allow_redirects=False
        )
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = response.text
        if response.status_code != 403:  # the hub's refusal is not ours to describe
            assert_matches_contract(method, path, response.status_code, payload)
        return response.status_code, payload

    def token(self, user: str, scopes: list[str] | None = None) -> str:
        """A new token of ``user``'s (the user's own permissions unless ``scopes`` narrows it)."""
        body: dict[str, Any] = {"note": "wp5 hub test", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        return self.api("POST", f"users/{user}/tokens", body)["token"]

    def start_servers(self, users: tuple[str, ...], timeout: float = 180) -> None:
        """Spawn the users' servers (together) and wait until the hub says they are ready."""
        for user in users:
            self.api("POST", f"users/{user}/server")
        waiting = set(users)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for user in sorted(waiting):
                if self.api("GET", f"users/{user}")["servers"].get("", {}).get("ready"):
                    waiting.discard(user)
            time.sleep(0.5)
        assert not waiting, f"{sorted(waiting)}: server did not start; see {self.log}"


def _reachable_by_others(path: Path) -> bool:
    """Whether users other than root may run ``path`` (every directory above it searchable)."""
    return all(p.stat().st_mode & 0o001 for p in path.resolve().parents)


def server_environment(work: Path) -> Path:
    """The prefix of a Python environment the users may run that holds this checkout's
    jupyter-wp5 and jupyterhub: this virtual environment itself, unless its interpreter lies
    where only root may go (pyenv under /root). Then a view of it: a venv made with the system's
    Python of the same minor version whose site-packages, etc/ and share/ lead to ours."""
    if _reachable_by_others(Path(sys.executable)):
        return Path(sys.prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system_python = Path("/usr/bin") / version
    if not system_python.exists() or not _reachable_by_others(Path(sys.prefix) / "lib"):
        pytest.skip(f"the users cannot run {sys.executable}, and there is no {system_python}")
    view = work / "venv"
    subprocess.run([str(system_python), "-m", "venv", "--without-pip", str(view)], check=True)
    ours = [p for p in sys.path if p.startswith(sys.prefix) and p.endswith("site-packages")]
    (view / "lib" / version / "site-packages" / "wp5_view.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in ours)
    )
    for name in ("etc", "share"):
        (view / name).symlink_to(Path(sys.prefix) / name)
    _write(
        view / "bin" / "jupyterhub-singleuser",
        f"#!{view / 'bin' / 'python'}\nfrom jupyterhub.singleuser import main\n\nmain()\n",
        0o755,
    )
    return view


def _free_ports(count: int) -> list[int]:
    from jupyter_wp5.playground.processes import free_ports

    return free_ports(count)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


@pytest.fixture(scope="session")
def hub(facility: Any, system_users: tuple[str, ...]) -> Iterator[Hub]:
    """JupyterHub with alice's and bob's servers started and a token for each."""
    from jupyter_wp5.playground.processes import ProcessRegistry, wait_until

    if not CHP.exists():
        pytest.skip(f"no configurable-http-proxy: run `jlpm install` in {HERE}")
    facility.add_users(system_users)

    # The users' servers read the single-user configuration: the directory must be theirs to read.
    work = Path(tempfile.mkdtemp(prefix="wp5-hub-"))
    work.chmod(0o755)
    state = work / "state"
    state.mkdir(mode=0o700)
    for name, text in guide_files().items():
        _write(work / name, text, 0o644)
    prefix = server_environment(work)
    public, hub_api, proxy_api = _free_ports(3)
    _write(
        work / "test_config.py",
        f"""load_subconfig("jupyterhub_config.py")
import os
c.Spawner.cmd = [{str(prefix / "bin" / "jupyterhub-singleuser")!r}]
c.JupyterHub.bind_url = "http://127.0.0.1:{public}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_api}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/cookie_secret"
c.JupyterHub.pid_file = "{state}/jupyterhub.pid"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.services = [{{"name": "wp5-test", "api_token": os.environ[{ADMIN_TOKEN_ENV!r}]}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["wp5-test"]}}]
""",
        0o600,
    )
    admin_token = secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUCIO_", "JUPYTER"))}
    env.update(
        {
            ADMIN_TOKEN_ENV: admin_token,
            "WP5_PLAYGROUND_DIR": str(facility.root),
            "PATH": os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", ""))),
        }
    )
    registry = ProcessRegistry(state / "pids.json", work / "logs")
    proc = registry.spawn(
        "jupyterhub",
        [sys.executable, "-m", "jupyterhub", "-f", str(work / "test_config.py")],
        env=env,
        cwd=work,
    )
    hub = Hub(f"http://127.0.0.1:{public}", admin_token, proc.log)

    def answers() -> bool:
        import requests

        try:
            return hub.request("GET", "hub/api/", admin_token, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        try:
            wait_until(answers, 120, f"JupyterHub on {hub.url}", proc=proc, interval=0.5)
            hub.start_servers(system_users)
            hub.tokens.update({user: hub.token(user) for user in system_users})
        except BaseException:
            # The hub's log goes with its directory: show its end where the failure is reported.
            print(proc.log.read_text(errors="replace")[-6000:])
            raise
        yield hub
    finally:
        for user in system_users:
            # Stop the servers first (their local clusters with them), then the hub and proxy.
            try:
                hub.request("DELETE", f"hub/api/users/{user}/server", admin_token, timeout=60)
            except Exception as err:  # a failed start leaves nothing to stop
                print(f"stopping {user}'s server: {err}")
        registry.stop_all(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
