"""The hub's pre-spawn copy of a user's rucio.cfg into their home (jupyter_wp5.playground.hub)."""

from __future__ import annotations

import configparser
import os
import stat
from pathlib import Path

import pytest

from jupyter_wp5.playground.hub import USER_CONFIG, write_user_rucio_config


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "alice.cfg"
    path.write_text(
        "[client]\nrucio_host = http://127.0.0.1:1\naccount = alice\npassword = s3cret\n"
        "auth_token_file_path = /srv/playground/rucio/tokens/alice.token\n"
    )
    return path


def test_written_private_with_the_token_beside_it(tmp_path: Path, source: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    target = write_user_rucio_config(source, home, os.getuid(), os.getgid())
    assert target == home / USER_CONFIG
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(target)
    assert cfg["client"]["password"] == "s3cret"
    assert cfg["client"]["auth_token_file_path"] == str(target.with_name("rucio.token"))


def test_a_symlink_in_the_users_home_is_not_followed(tmp_path: Path, source: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir(mode=0o755)
    (home / ".config").symlink_to(elsewhere)
    with pytest.raises(PermissionError, match="not a directory of the user's own"):
        write_user_rucio_config(source, home, os.getuid(), os.getgid())
    assert list(elsewhere.iterdir()) == []
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
