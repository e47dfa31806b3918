"""The playground's PostgreSQL server for Rucio, from Debian's ``postgresql`` package.

Its data directory is under the playground root; it listens on 127.0.0.1 only, on its own port,
with a unix socket in a private directory. Every connection needs the per-playground password
(scram-sha-256, also over the socket), which lives only in a 0600 libpq password file and in the
server's 0600 rucio.cfg: never in argv, logs or a child's environment. PostgreSQL refuses to run as
root, so as root it runs as the ``postgres`` user the package creates.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from .privileges import chown_tree, running_as_root, write_private
from .processes import ProcessRegistry, as_user, port_is_free, wait_until

__all__ = ["DATABASE", "ROLE", "PostgresServer", "postgres_bin", "write_passfile"]

PROCESS_NAME = "postgres"
ROLE = "wp5"
DATABASE = "rucio"
_SYSTEM_USER = "postgres"
_INSTALL = Path("/usr/lib/postgresql")


def postgres_bin() -> Path | None:
    """``bin/`` of the newest PostgreSQL server Debian installed, or ``None``."""
    found = [
        d / "bin"
        for d in (_INSTALL.iterdir() if _INSTALL.is_dir() else [])
        if re.fullmatch(r"\d+", d.name) and (d / "bin" / "postgres").exists()
    ]
    return max(found, key=lambda b: int(b.parent.name), default=None)


def write_passfile(path: Path, port: int, password: str) -> None:
    """The libpq password file (mode 0600) clients point ``PGPASSFILE`` at."""
    write_private(path, f"127.0.0.1:{port}:*:{ROLE}:{password}\n")


def read_password(passfile: Path) -> str:
    """The password :func:`write_passfile` wrote."""
    return passfile.read_text().strip().split(":", 4)[4]


class PostgresServer:
    """One PostgreSQL cluster: ``initdb`` on first use, then a managed ``postgres`` process.

    Parameters
    ----------
    directory:
        Holds ``data/`` (the cluster) and ``run/`` (the unix socket); reachable by the
        ``postgres`` user when running as root.
    port:
        The TCP port on 127.0.0.1.
    passfile:
        The libpq password file written by :func:`write_passfile`.
    processes:
        Registry the server is started in (stopped with the playground).
    """

    def __init__(
        self, directory: Path, port: int, passfile: Path, processes: ProcessRegistry
    ) -> None:
        # Resolved: root/postgres may be a link from a directory the server's user cannot reach.
        self.directory = directory.resolve()
        self.port = port
        self.passfile = passfile
        self.processes = processes
        found = postgres_bin()
        if found is None:
            raise RuntimeError(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres); install "
                "Debian's postgresql package or use the SQLite database"
            )
        self.bin = found

    @property
    def data_dir(self) -> Path:
        """The database cluster."""
        return self.directory / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the unix socket is (private to the server's user)."""
        return self.directory / "run"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of Rucio's database (holds the password: only for 0600 files)."""
        password = read_password(self.passfile)
        return f"postgresql+psycopg://{ROLE}:{password}@127.0.0.1:{self.port}/{DATABASE}"

    def client_environment(self) -> dict[str, str]:
        """Environment for libpq clients (``psql``): the password file, not the password."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(
            PGPASSFILE=str(self.passfile),
            PGHOST="127.0.0.1",
            PGPORT=str(self.port),
            PGUSER=ROLE,
            PGDATABASE=DATABASE,
        )
        return env

    def _user(self) -> str | None:
        return _SYSTEM_USER if running_as_root() else None

    def _server_environment(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TZ")
        return {k: os.environ[k] for k in keep if k in os.environ}

    def initialised(self) -> bool:
        """Whether ``initdb`` has run."""
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster (``initdb``, about 2 s) with the role and its password."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        os.chmod(self.socket_dir, 0o700)
        # initdb reads the password from a file its user can read; it goes away right after.
        pwfile = self.directory / ".initdb-password"
        write_private(pwfile, read_password(self.passfile) + "\n")
        user = self._user()
        if user is not None:
            chown_tree(self.directory, user)
        log = self.processes.log_dir / "postgres-initdb.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log.open("ab") as out:
                done = subprocess.run(
                    [
                        str(self.bin / "initdb"),
                        "--pgdata",
                        str(self.data_dir),
                        "--username",
                        ROLE,
                        "--pwfile",
                        str(pwfile),
                        "--auth",
                        "scram-sha-256",
                        "--encoding",
                        "UTF8",
                        "--no-locale",
                        "--no-instructions",
                    ],
                    env=self._server_environment(),
                    cwd=self.directory,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=False,
                    **as_user(user),
                )
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed; see {log}")

    def running(self) -> bool:
        """Whether the server process is alive."""
        proc = self.processes.get(PROCESS_NAME)
        return proc is not None and proc.running()

    def ready(self) -> bool:
        """Whether the server accepts connections on its TCP port."""
        done = subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            env=self._server_environment(),
            check=False,
            timeout=10,
        )
        return done.returncode == 0

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (``initdb`` first when needed), wait until it accepts connections,
        and create Rucio's database on the first start."""
        if self.running():
            return
        first = not self.initialised()
        if first:
            self.init()
        if not port_is_free(self.port):
            raise RuntimeError(
                f"port {self.port} for PostgreSQL is taken by another program; stop it or "
                "start the playground fresh to choose new ports"
            )
        user = self._user()
        if user is not None:
            chown_tree(self.directory, user)
        proc = self.processes.spawn(
            PROCESS_NAME,
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.socket_dir}",
                # A playground may lose its last commits in an OS crash, never its consistency.
                "-c",
                "synchronous_commit=off",
            ],
            env=self._server_environment(),
            cwd=self.directory,
            # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
            stop_signal=signal.SIGINT,
            user=user,
        )
        wait_until(self.ready, timeout, f"PostgreSQL on 127.0.0.1:{self.port}", proc=proc)
        if first:
            self._create_database()

    def _create_database(self) -> None:
        env = self.client_environment()
        env["PGDATABASE"] = "postgres"
        done = subprocess.run(
            [str(self.bin / "createdb"), DATABASE],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if done.returncode != 0 and "already exists" not in done.stderr:
            raise RuntimeError(f"creating the database {DATABASE!r} failed: {done.stderr.strip()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (fast shutdown: open sessions are ended)."""
        self.processes.stop(PROCESS_NAME, timeout)
