"""Child processes of the playground: start, remember, stop.

Every child runs in its own session so that a terminal's Ctrl-C reaches only the playground's main
process, which then stops the children in order. The pids (with their command lines) are written
to ``pids.json`` so that a later start can clean up after a run that crashed.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ManagedProcess",
    "ProcessRegistry",
    "as_user",
    "free_ports",
    "port_is_free",
    "port_was_taken",
    "wait_until",
]


@dataclass
class ManagedProcess:
    """One child process started by the playground."""

    name: str
    popen: subprocess.Popen[bytes]
    cmdline: list[str]
    log: Path
    # What asks it to stop (PostgreSQL's fast shutdown is SIGINT; SIGTERM waits for clients).
    stop_signal: int = signal.SIGTERM

    @property
    def pid(self) -> int:
        """The child's process id (also its process group id)."""
        return self.popen.pid

    def running(self) -> bool:
        """Whether the child has not exited yet."""
        return self.popen.poll() is None


def _read_cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _descendants(pids: list[int]) -> list[int]:
    """All processes below ``pids`` (children in their own sessions included), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
        ppid = int(stat_line.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _pid_alive(pid: int) -> bool:
    cmd = _read_cmdline(pid)
    if cmd is None:
        return False
    # A zombie has an empty cmdline; it is gone for our purposes.
    return bool(cmd)


class ProcessRegistry:
    """Starts children in their own sessions and stops them, newest first.

    Parameters
    ----------
    state_file:
        Where the running children are recorded (``root/pids.json``).
    log_dir:
        Each child's stdout and stderr go to ``log_dir/<name>.log``.
    """

    def __init__(self, state_file: Path, log_dir: Path) -> None:
        self.state_file = state_file
        self.log_dir = log_dir
        self._children: dict[str, ManagedProcess] = {}

    # -- bookkeeping -------------------------------------------------------------------------

    def _save(self) -> None:
        entries = [
            {"name": p.name, "pid": p.pid, "cmdline": p.cmdline}
            for p in self._children.values()
            if p.running()
        ]
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, indent=1))
        tmp.replace(self.state_file)

    def kill_leftovers(self, timeout: float = 10.0) -> list[int]:
        """Stop children recorded by an earlier run that did not shut down cleanly.

        A recorded pid is only signalled when ``/proc/<pid>/cmdline`` still matches what was
        recorded, so a recycled pid of an unrelated process is never touched.
        """
        try:
            entries = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return []
        victims = [
            int(e["pid"])
            for e in entries
            if int(e["pid"]) != os.getpid() and _read_cmdline(int(e["pid"])) == e["cmdline"]
        ]
        self._terminate(victims, timeout)
        self.state_file.unlink(missing_ok=True)
        return victims

    # -- lifecycle ---------------------------------------------------------------------------

    def spawn(
        self,
        name: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
        user: str | None = None,
    ) -> ManagedProcess:
        """Start ``cmd`` in a new session with its output appended to ``log_dir/<name>.log``;
        :meth:`stop` sends ``stop_signal`` to its process group first. ``user``: run as this
        (unprivileged) user and its primary group only."""
        if name in self._children and self._children[name].running():
            raise RuntimeError(f"process {name!r} is already running")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
                **as_user(user),
            )
        proc = ManagedProcess(
            name=name, popen=popen, cmdline=list(cmd), log=log, stop_signal=stop_signal
        )
        self._children[name] = proc
        self._save()
        return proc

    def get(self, name: str) -> ManagedProcess | None:
        """The child called ``name``, if one was started."""
        return self._children.get(name)

    def stop(self, name: str, timeout: float = 10.0) -> None:
        """Stop one child (its stop signal to its process group, SIGKILL after ``timeout``)."""
        proc = self._children.pop(name, None)
        if proc is None:
            return
        self._terminate([proc.pid], timeout, popens={proc.pid: proc.popen}, sig=proc.stop_signal)
        self._save()

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every child, the most recently started first."""
        for name in reversed(list(self._children)):
            self.stop(name, timeout)
        self.state_file.unlink(missing_ok=True)

    def pids(self) -> list[int]:
        """Pids of the children that are still running."""
        return [p.pid for p in self._children.values() if p.running()]

    @staticmethod
    def _terminate(
        pids: list[int],
        timeout: float,
        popens: Mapping[int, subprocess.Popen[bytes]] | None = None,
        sig: int = signal.SIGTERM,
    ) -> None:
        popens = popens or {}

        def alive(pid: int) -> bool:
            if pid in popens:
                return popens[pid].poll() is None
            return _pid_alive(pid)

        # Children that started sessions of their own (Jupyter kernels) are not in the group;
        # their parent normally stops them, and whatever survives is killed below.
        below = _descendants(pids)
        for pid in pids:
            _signal_group(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.05)
        for pid in pids:
            # Also kill what is left of the group (helpers a child started), even if the
            # leader has already exited.
            _signal_group(pid, signal.SIGKILL)
        for pid in pids:
            if pid in popens:
                popens[pid].wait(timeout=5)
        for pid in below:
            if _pid_alive(pid):
                _signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in [*pids, *below]):
            time.sleep(0.05)


def as_user(user: str | None) -> dict[str, Any]:
    """``subprocess`` keyword arguments that run a child as ``user`` with its primary group
    and no supplementary groups (empty for ``None``: the current user)."""
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports on ``host`` that nothing listens on right now."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
        return ports


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be bound on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def port_was_taken(proc: ManagedProcess) -> bool:
    """Whether ``proc`` ended because a port it was to listen on was in use (its log says so)."""
    return not proc.running() and "address already in use" in _tail(proc.log, 50).lower()


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    proc: ManagedProcess | None = None,
    interval: float = 0.1,
) -> None:
    """Poll ``check`` until it is true; fail early when ``proc`` exits, late after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if proc is not None and not proc.running():
            tail = _tail(proc.log)
            raise RuntimeError(
                f"{what}: process {proc.name!r} exited with {proc.popen.returncode}; "
                f"log {proc.log}:\n{tail}"
            )
        if time.monotonic() > deadline:
            extra = f"; log {proc.log}:\n{_tail(proc.log)}" if proc is not None else ""
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s{extra}")
        time.sleep(interval)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
