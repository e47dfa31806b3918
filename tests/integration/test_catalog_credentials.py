"""Refused credentials reach the user as a precise 502-class error, without the secret."""

from __future__ import annotations

import asyncio
import configparser
import secrets

import pytest

from jupyter_wp5.data.catalog import RucioCatalog
from jupyter_wp5.data.db_retry import retry_when_locked
from jupyter_wp5.data.rucio_connection import RucioConnection
from jupyter_wp5.models import EngineRefused, SearchQuery

from ..rucio_admin import admin_client

pytestmark = pytest.mark.rucio


def test_wrong_password_is_refused_with_rucios_reason(playground, tmp_path):
    # A fresh account: rucio-clients would use any still-valid token cached for an account that
    # other clients on this machine use, before trying the password.
    account = f"tester{secrets.token_hex(3)}"
    admin = admin_client(playground)
    retry_when_locked(lambda: admin.add_account(account, "USER", "tester@example.org"))
    retry_when_locked(
        lambda: admin.add_identity(
            account, account, "USERPASS", "t@example.org", password="right-one"
        )
    )
    assert [(i["identity"], i["type"]) for i in admin.list_identities(account)] == [
        (account, "USERPASS")
    ]

    cfg = configparser.ConfigParser()
    cfg.read(playground.rucio_config)
    cfg["client"].update(account=account, username=account, password="not-the-password-7f3a")
    cfg["client"]["auth_token_file_path"] = str(tmp_path / "token")
    bad = tmp_path / "rucio.cfg"
    with bad.open("w") as fh:
        cfg.write(fh)

    catalog = RucioCatalog(connection=RucioConnection(rucio_config=str(bad), timeout=20))
    try:
        with pytest.raises(EngineRefused) as info:
            asyncio.run(catalog.search(SearchQuery.parse("cms:*")))
        status = asyncio.run(catalog.status())
    finally:
        catalog.close()
    assert info.value.status == 502
    assert "refused the credentials" in info.value.message
    assert "not-the-password-7f3a" not in info.value.message
    assert status.reachable is False and "refused" in (status.message or "")


def test_connections_in_one_process_never_share_a_token(playground):
    """An admin client and a user client side by side each act as their own account."""
    user = RucioConnection(rucio_config=str(playground.rucio_config))
    admin = RucioConnection(rucio_config=str(playground.root_rucio_config))
    assert user.token_file() != admin.token_file()
    assert admin.new_client().whoami()["account"] == "root"
    assert user.new_client().whoami()["account"] == playground.account
