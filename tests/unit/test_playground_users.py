"""Names `jupyter wp5 playground --users` refuses before anything is made in Rucio."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_wp5.playground import Facility


@pytest.mark.parametrize("name", ["jovyan", "root", "Alice", "a b", "x" * 21, "", "../bob"])
def test_unusable_user_names_are_refused_first(tmp_path: Path, name: str) -> None:
    facility = Facility(root=tmp_path)
    with pytest.raises(ValueError, match="cannot be a playground user"):
        facility.add_users(["alice", name])
    assert not (tmp_path / "rucio").exists()
