"""The playground's two communities, INAF and Leonardo, and their Rucio side.

INAF owns the ``space`` scope (the space-debris catalogue); its data steward decides who else may
use it, and the playground's own account is an INAF member (its demos read that data). Leonardo
has a user with no rights on ``space`` and its own storage element, SITE-C.

In Rucio the roles are account attributes ``wp5.scope.<scope>`` = ``steward`` | ``member``, which
the policy package reads (scripts/wp5_policy/permission.py). The admin part runs as ``root`` in a
child process, like bootstrap.py, after ``Facility.add_users`` made the accounts (each with a
``user.<account>`` scope); every step tolerates "already exists".

Usage: ``python -m jupyter_wp5.playground.communities SPEC.json``
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "ACCOUNTS",
    "communities",
    "community_config",
    "setup_communities",
    "write_lab_config",
]

STEWARD = "inaf-steward"
LEONARDO_USER = "leonardo-user"
ACCOUNTS = (STEWARD, LEONARDO_USER)
SCOPE_ATTRIBUTE = "wp5.scope."
GB = 1000**3
# Each account's quota at each of its community's storage elements.
QUOTA = 50 * GB


def communities(member: str) -> dict[str, dict[str, list[str]]]:
    """The playground's communities (the ``Communities.communities`` setting); ``member`` is the
    playground's own account, an INAF member."""
    return {
        "inaf": {
            "scopes": ["space"],
            "stewards": [STEWARD],
            "accounts": [member],
            "rses": ["SITE-A", "SITE-B"],
            "profiles": ["cpu"],
        },
        "leonardo": {
            "accounts": [LEONARDO_USER],
            "rses": ["SITE-C"],
            "profiles": ["cpu"],
        },
    }


def community_config(member: str) -> dict[str, Any]:
    """Jupyter server configuration for the communities."""
    return {"Communities": {"communities": communities(member)}}


def write_lab_config(path: Path, member: str, ledger: Any = None) -> Path:
    """Write the playground's JupyterLab configuration (a ``jupyter_server_config.json`` in a
    directory put first on the lab's ``JUPYTER_CONFIG_PATH``): the communities,
    and the ledger's URL and append-token file when ``ledger`` (a LedgerInfo) is given. The token
    itself stays in its 0600 file: in no environment (kernels inherit the server's), command
    line or configuration."""
    config = community_config(member)
    if ledger is not None:
        config["AccessLedger"] = {
            "url": ledger.url,
            "token_file": str(ledger.token_file),
            # The panel's checkpoint badge checks against the keys the playground made, not
            # against whatever the log publishes later.
            "trusted_keys": list(ledger.verifier_keys),
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(config, out, indent=2)
    os.chmod(path, 0o600)
    return path


def setup_communities(spec: dict[str, Any]) -> None:
    """Give the community accounts (made by ``Facility.add_users``) their roles in Rucio and a
    quota at each of their community's storage elements.

    ``spec`` keys: ``member`` (the playground's own account, an INAF member).
    """
    from rucio.client import Client

    from .rucio_calls import create, retry

    client = Client()
    for community in communities(spec["member"]).values():
        stewards, accounts = community.get("stewards", []), community["accounts"]
        for account in set(stewards + accounts) & set(ACCOUNTS):
            for rse in community["rses"]:
                retry(client.set_local_account_limit, account, rse, QUOTA)
        for scope in community.get("scopes", []):
            for account in stewards:
                create(client.add_account_attribute, account, SCOPE_ATTRIBUTE + scope, "steward")
            for account in accounts:
                create(client.add_account_attribute, account, SCOPE_ATTRIBUTE + scope, "member")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child process."""
    argv = sys.argv[1:] if argv is None else argv
    setup_communities(json.loads(Path(argv[0]).read_text()))


if __name__ == "__main__":
    main()
