"""rucio.cfg files for the playground's server and its two client accounts.

Passwords exist only in these files (mode 0600) under the playground root; nothing else stores,
prints or logs them.
"""

from __future__ import annotations

import configparser
import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .privileges import write_private

__all__ = [
    "RucioFiles",
    "read_password",
    "write_alembic_ini",
    "write_client_config",
    "write_server_config",
]

ROOT_IDENTITY = "root"

# Client-side policy must agree with the server: the client computes PFNs (lfn2pfn) and checks
# names against the schema itself.
_POLICY = {
    "permission": "generic",
    "schema": "generic",
    "lfn2pfn_algorithm_default": "hash",
    "support": "jupyter-wp5 playground",
    "support_rucio": "https://github.com/rucio/rucio/issues",
}


@dataclass(frozen=True)
class RucioFiles:
    """Where the playground keeps Rucio's files (all under ``root/rucio``)."""

    dir: Path

    @property
    def server_cfg(self) -> Path:
        """Server (and daemon) configuration; holds the bootstrap password."""
        return self.dir / "server.cfg"

    @property
    def root_cfg(self) -> Path:
        """Client configuration for the admin account ``root``."""
        return self.dir / "root.cfg"

    def client_cfg(self, account: str) -> Path:
        """Client configuration for ``account``."""
        return self.dir / f"{account}.cfg"

    @property
    def alembic_ini(self) -> Path:
        """alembic.ini with the absolute migrations path of the server venv."""
        return self.dir / "alembic.ini"

    @property
    def database(self) -> Path:
        """The SQLite database file."""
        return self.dir / "rucio.db"

    @property
    def sqlite_url(self) -> str:
        """SQLAlchemy URL of the SQLite database."""
        return f"sqlite:///{self.database}"

    @property
    def pgpass(self) -> Path:
        """libpq password file of the PostgreSQL database (playgrounds on PostgreSQL)."""
        return self.dir / "pgpass"

    @property
    def schema_marker(self) -> Path:
        """Exists once Rucio's schema, base VO and root account are in the database."""
        return self.dir / "schema-built"

    @property
    def tokens(self) -> Path:
        """Token cache of this playground's clients (not the user's global /tmp one)."""
        return self.dir / "tokens"


def new_password() -> str:
    """A random password for a userpass identity."""
    return secrets.token_urlsafe(24)


def _write_private(path: Path, parser: configparser.ConfigParser) -> None:
    text = io.StringIO()
    parser.write(text)
    write_private(path, text.getvalue())


def _client_section(
    files: RucioFiles, url: str, account: str, identity: str, password: str
) -> dict[str, str]:
    return {
        "rucio_host": url,
        "auth_host": url,
        "auth_type": "userpass",
        "username": identity,
        "password": password,
        "account": account,
        # Per-playground token file: tokens of one playground never leak into another.
        "auth_token_file_path": str(files.tokens / f"{account}.token"),
        "request_retries": "3",
        "ca_cert": "/etc/ssl/certs/ca-certificates.crt",
    }


def write_alembic_ini(files: RucioFiles, rucio_package: Path, database_url: str) -> None:
    """alembic.ini whose ``script_location`` is the absolute migrations directory (mode 0600:
    a PostgreSQL URL holds the password)."""
    # Rucio's migrations env.py calls logging.config.fileConfig on this file, so the logging
    # sections are required too. "%" is doubled: the file is read with interpolation.
    url = database_url.replace("%", "%%")
    write_private(
        files.alembic_ini,
        "[alembic]\n"
        f"script_location = {rucio_package / 'db' / 'sqla' / 'migrate_repo'}\n"
        f"sqlalchemy.url = {url}\n\n"
        "[loggers]\nkeys = root\n\n"
        "[handlers]\nkeys = console\n\n"
        "[formatters]\nkeys = generic\n\n"
        "[logger_root]\nlevel = WARNING\nhandlers = console\n\n"
        "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nlevel = NOTSET\n"
        "formatter = generic\n\n"
        "[formatter_generic]\nformat = %%(levelname)s [%%(name)s] %%(message)s\n",
    )


def write_server_config(
    files: RucioFiles, url: str, root_password: str, log_dir: Path, database_url: str
) -> None:
    """The server's rucio.cfg (database, bootstrap identity, policy, root client)."""
    cfg = configparser.ConfigParser(interpolation=None)
    # No multi_vo key at all: create_root_account reads it with bool(str), so "False" is true.
    cfg["common"] = {"logdir": str(log_dir), "loglevel": "WARNING"}
    cfg["database"] = {
        "default": database_url,
        "echo": "0",
    }
    cfg["bootstrap"] = {
        "userpass_identity": ROOT_IDENTITY,
        "userpass_pwd": root_password,
        "userpass_email": "root@localhost",
    }
    cfg["alembic"] = {"cfg": str(files.alembic_ini)}
    # Only the server side loads the policy package (scripts/wp5_policy: owners may delete and
    # extend their rules); clients keep the generic policy, which computes the same names.
    cfg["policy"] = {**_POLICY, "package": "wp5_policy"}
    cfg["monitor"] = {"enable_metrics": "False"}
    cfg["conveyor"] = {"scheme": "root,file"}
    # No multi-hop between the playground's storage elements (Rucio warns every round otherwise).
    cfg["transfers"] = {"multihop_rse_expression": ""}
    cfg["client"] = _client_section(files, url, "root", ROOT_IDENTITY, root_password)
    _write_private(files.server_cfg, cfg)


def write_client_config(
    path: Path, files: RucioFiles, url: str, account: str, identity: str, password: str
) -> None:
    """A client rucio.cfg for one account (what ``RUCIO_CONFIG`` points at)."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg["client"] = _client_section(files, url, account, identity, password)
    cfg["policy"] = dict(_POLICY)
    files.tokens.mkdir(parents=True, exist_ok=True)
    os.chmod(files.tokens, 0o700)
    _write_private(path, cfg)


def read_password(path: Path) -> str:
    """The ``[client] password`` of a config written by this module."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(path)
    return cfg["client"]["password"]
