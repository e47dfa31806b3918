"""Refused credentials reach the user as a precise 502-class error, without the secret."""

from __future__ import annotations

import asyncio
import configparser
from pathlib import Path

import pytest

from jupyter_wp5.data.catalog import RucioCatalog
from jupyter_wp5.data.rucio_connection import RucioConnection
from jupyter_wp5.models import EngineRefused, SearchQuery


def forget_cached_tokens(account: str) -> None:
    """rucio-clients reuses a token cached on disk before it tries the password."""
    import getpass

    from rucio.client.baseclient import BaseClient

    cache = Path(BaseClient.TOKEN_PATH_PREFIX + getpass.getuser())
    for token in cache.glob(f"*{account}*"):
        token.unlink()


def test_wrong_password_is_refused_with_rucios_reason(playground, tmp_path):
    forget_cached_tokens(playground.account)
    cfg = configparser.ConfigParser()
    cfg.read(playground.rucio_config)
    cfg["client"]["password"] = "not-the-password-7f3a"
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
