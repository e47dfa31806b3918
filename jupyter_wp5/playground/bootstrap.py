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

__all__ = ["add_user", "bootstrap"]

MB = 1000**2
GB = 1000**3


def bootstrap(spec: dict[str, Any]) -> None:
    """Create everything described by ``spec`` (written by :class:`~.facility.Facility`).

    ``spec`` keys: ``account``, ``account_cfg`` (its client config, for the password),
    ``scopes``, ``rses`` (list of ``{"name", "protocol", "attributes", "quota"}``),
    ``admin_quota``.
    """
    from rucio.client import Client

    from .rucio_calls import create, retry

    client = Client()
    names = [rse["name"] for rse in spec["rses"]]
    for rse in spec["rses"]:
        create(client.add_rse, rse["name"], deterministic=True, rse_type="DISK")
        create(client.add_protocol, rse["name"], rse["protocol"])
        for key, value in rse["attributes"].items():
            retry(client.add_rse_attribute, rse["name"], key, value)
        retry(client.set_local_account_limit, "root", rse["name"], int(spec["admin_quota"]))
    for source, destination in itertools.permutations(names, 2):
        create(client.add_distance, source, destination, {"distance": 1})
    add_user(
        client,
        spec["account"],
        read_password(Path(spec["account_cfg"])),
        spec["scopes"],
        {rse["name"]: int(rse["quota"]) for rse in spec["rses"]},
    )


def add_user(
    client: Any, account: str, password: str, scopes: list[str], quotas: dict[str, int]
) -> None:
    """An ordinary account with its userpass identity (login name = account), its scopes and a
    quota at each storage element; what already exists is left as it is."""
    from .rucio_calls import create, retry

    create(client.add_account, account, "USER", f"{account}@localhost")
    create(
        client.add_identity,
        account=account,
        identity=account,
        authtype="USERPASS",
        email=f"{account}@localhost",
        default=True,
        password=password,
    )
    for scope in scopes:
        create(client.add_scope, account, scope)
    for rse, quota in quotas.items():
        retry(client.set_local_account_limit, account, rse, quota)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child process."""
    argv = sys.argv[1:] if argv is None else argv
    bootstrap(json.loads(Path(argv[0]).read_text()))


if __name__ == "__main__":
    main()
