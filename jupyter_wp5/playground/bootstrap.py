"""Admin bootstrap of the playground's Rucio: account, scopes, RSEs, distances, quotas.

Runs as the ``root`` account through rucio-clients, in a child process whose ``RUCIO_CONFIG`` is
the root client config (rucio-clients caches its configuration per process, so the caller's
process must not load the admin one). Every step tolerates "already exists", so a bootstrap that
was interrupted can simply run again.

Usage: ``python -m jupyter_wp5.playground.bootstrap SPEC.json``
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

from .rucio_config import read_password

__all__ = ["bootstrap"]

MB = 1000**2
GB = 1000**3


def bootstrap(spec: dict[str, Any]) -> None:
    """Create everything described by ``spec`` (written by :class:`~.facility.Facility`).

    ``spec`` keys: ``account``, ``account_cfg`` (its client config, for the password),
    ``scopes``, ``rses`` (list of ``{"name", "protocol", "attributes", "quota"}``),
    ``admin_quota``.
    """
    from rucio.client import Client

    from .rucio_calls import add_user_account, create, retry

    client = Client()
    account = spec["account"]
    password = read_password(Path(spec["account_cfg"]))

    add_user_account(client, account, password)
    for scope in spec["scopes"]:
        create(client.add_scope, account, scope)

    names = [rse["name"] for rse in spec["rses"]]
    for rse in spec["rses"]:
        create(client.add_rse, rse["name"], deterministic=True, rse_type="DISK")
        create(client.add_protocol, rse["name"], rse["protocol"])
        for key, value in rse["attributes"].items():
            retry(client.add_rse_attribute, rse["name"], key, value)
        retry(client.set_local_account_limit, account, rse["name"], int(rse["quota"]))
        retry(client.set_local_account_limit, "root", rse["name"], int(spec["admin_quota"]))
    for source, destination in itertools.permutations(names, 2):
        create(client.add_distance, source, destination, {"distance": 1})


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child process."""
    argv = sys.argv[1:] if argv is None else argv
    bootstrap(json.loads(Path(argv[0]).read_text()))


if __name__ == "__main__":
    main()
