"""Admin step: the playground's named users (``jupyter wp5 playground --users alice,bob``).

Each user gets a Rucio account of the same name, a userpass identity whose password is only in
that user's client rucio.cfg, a scope ``user.<name>`` and the ordinary account's quotas. Runs as
``root`` in a child process, like bootstrap.py; every step tolerates "already exists".

Usage: ``python -m jupyter_wp5.playground.users SPEC.json``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .bootstrap import add_user
from .rucio_config import read_password

__all__ = ["add_users"]


def add_users(spec: dict[str, Any]) -> None:
    """Create the users ``spec`` lists: ``users`` (``{"account", "cfg"}`` each) and ``quotas``
    (bytes per storage element)."""
    from rucio.client import Client

    client = Client()
    quotas = {rse: int(quota) for rse, quota in spec["quotas"].items()}
    for user in spec["users"]:
        account = user["account"]
        add_user(client, account, read_password(Path(user["cfg"])), [f"user.{account}"], quotas)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child process."""
    argv = sys.argv[1:] if argv is None else argv
    add_users(json.loads(Path(argv[0]).read_text()))


if __name__ == "__main__":
    main()
