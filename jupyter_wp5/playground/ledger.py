"""The playground's ledger: the log and one witness per party (INAF, Leonardo) on loopback.

Each is its own process (see :mod:`jupyter_wp5.ledger`), started through the facility's
:class:`~.processes.ProcessRegistry`. Keys, and the bearer token that appending to the log needs,
are made on the first start under ``root/keys`` (mode 0600) and kept; so are the log's SQLite file
and the witnesses' state files, so the log keeps growing across restarts. The published verifier
keys are in ``root/verifier-keys.txt``.
"""

from __future__ import annotations

import os
import secrets
import sys
import urllib.error
import urllib.request
from pathlib import Path

from jupyter_wp5.ledger.note import load_or_create_signer

from .info import LedgerInfo
from .processes import ProcessRegistry, free_ports, wait_until

__all__ = ["ORIGIN", "WITNESSES", "PlaygroundLedger", "log_command"]

ORIGIN = "jupyter-wp5.playground/ledger"
# party -> witness key name
WITNESSES = {
    "inaf": "jupyter-wp5.playground/witness-inaf",
    "leonardo": "jupyter-wp5.playground/witness-leonardo",
}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def log_command(
    key: Path, db: Path, witnesses: list[str], port: int, token_file: Path | None = None
) -> list[str]:
    """The command line of a log process (anyone may append when ``token_file`` is None)."""
    return [
        sys.executable,
        "-m",
        "jupyter_wp5.ledger.log",
        "--origin",
        ORIGIN,
        "--key",
        str(key),
        "--db",
        str(db),
        *(arg for url in witnesses for arg in ("--witness", url)),
        "--port",
        str(port),
        *(["--token-file", str(token_file)] if token_file is not None else []),
    ]


class PlaygroundLedger:
    """Starts and stops the ledger's processes under ``root`` with ``processes``."""

    def __init__(self, root: Path, processes: ProcessRegistry) -> None:
        self.root = root
        self.processes = processes
        self.info: LedgerInfo | None = None

    def _names(self) -> list[str]:
        return ["ledger-log", *(f"ledger-witness-{party}" for party in WITNESSES)]

    def start(self, timeout: float = 60.0) -> LedgerInfo:
        """Start the witnesses, then the log pointed at them; return once all answer."""
        keys = self.root / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        os.chmod(keys, 0o700)
        log_key = load_or_create_signer(keys / "log.key", ORIGIN).verifier
        token_file = keys / "append.token"
        if not token_file.exists():
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(24) + "\n")
        ports = free_ports(1 + len(WITNESSES))
        witness_urls = []
        published = [str(log_key)]
        for (party, name), port in zip(WITNESSES.items(), ports[1:], strict=True):
            published.append(
                str(load_or_create_signer(keys / f"witness-{party}.key", name).verifier)
            )
            url = f"http://127.0.0.1:{port}"
            proc = self.processes.spawn(
                f"ledger-witness-{party}",
                [
                    sys.executable,
                    "-m",
                    "jupyter_wp5.ledger.witness",
                    "--name",
                    name,
                    "--key",
                    str(keys / f"witness-{party}.key"),
                    "--state",
                    str(self.root / f"witness-{party}.json"),
                    "--log-key",
                    str(log_key),
                    "--port",
                    str(port),
                ],
                cwd=self.root,
            )
            wait_until(lambda u=url: _answers(f"{u}/key"), timeout, f"witness {party}", proc=proc)
            witness_urls.append(url)
        url = f"http://127.0.0.1:{ports[0]}"
        proc = self.processes.spawn(
            "ledger-log",
            log_command(
                keys / "log.key", self.root / "log.sqlite", witness_urls, ports[0], token_file
            ),
            cwd=self.root,
        )
        wait_until(lambda: _answers(f"{url}/health"), timeout, "ledger log", proc=proc)
        keys_file = self.root / "verifier-keys.txt"
        keys_file.write_text("".join(f"{k}\n" for k in published))
        self.info = LedgerInfo(
            url=url,
            origin=ORIGIN,
            witnesses=dict(zip(WITNESSES, witness_urls, strict=True)),
            verifier_keys=published,
            keys_file=keys_file,
            token_file=token_file,
        )
        return self.info

    def stop(self) -> None:
        """Stop the log and the witnesses."""
        for name in self._names():
            self.processes.stop(name)
        self.info = None
