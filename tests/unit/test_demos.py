"""``jupyter wp5 demos DIR``: the shipped demo notebooks are copied, updated when untouched, and a
notebook the user changed is never overwritten."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_wp5.demos import DEMOS_DIR, MANIFEST, copy_demos, demo_notebooks

NAMES = ["01-dimuon-z-peak.ipynb", "02-space-debris.ipynb"]


def demos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_wp5.cli", "demos", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_ships_the_demo_notebooks():
    assert [p.name for p in demo_notebooks()] == NAMES
    for path in demo_notebooks():
        assert json.loads(path.read_text())["nbformat"] == 4


def test_first_copy_then_a_users_change_is_kept(tmp_path: Path):
    first = copy_demos(tmp_path / "lab")
    assert first.copied == NAMES
    for name in NAMES:
        assert (tmp_path / "lab" / name).read_bytes() == (DEMOS_DIR / name).read_bytes()

    mine = tmp_path / "lab" / NAMES[0]
    mine.write_text(mine.read_text().replace("Z", "my Z", 1))
    changed = mine.read_bytes()
    again = copy_demos(tmp_path / "lab")
    assert again.kept == [NAMES[0]] and again.current == [NAMES[1]] and not again.copied
    assert mine.read_bytes() == changed


def test_an_untouched_copy_is_updated_to_the_shipped_version(tmp_path: Path):
    lab = tmp_path / "lab"
    copy_demos(lab)
    # An older release's copy: what it copied is in the manifest, the file is as copied.
    old = lab / NAMES[1]
    old.write_text('{"old": true}')
    manifest = json.loads((lab / MANIFEST).read_text())
    manifest[NAMES[1]] = hashlib.sha256(old.read_bytes()).hexdigest()
    (lab / MANIFEST).write_text(json.dumps(manifest))
    done = copy_demos(lab)
    assert done.updated == [NAMES[1]]
    assert old.read_bytes() == (DEMOS_DIR / NAMES[1]).read_bytes()


def test_a_notebook_that_was_there_before_is_not_overwritten(tmp_path: Path):
    (tmp_path / NAMES[0]).write_text("my own notebook")
    done = copy_demos(tmp_path)
    assert done.kept == [NAMES[0]] and done.copied == [NAMES[1]]
    assert (tmp_path / NAMES[0]).read_text() == "my own notebook"


def test_the_command_copies_and_says_what_it_did(tmp_path: Path):
    run = demos(str(tmp_path / "d"))
    assert run.returncode == 0, run.stderr
    assert f"copied: {tmp_path / 'd' / NAMES[0]}" in run.stdout
    run = demos(str(tmp_path / "d"))
    assert f"already current: {tmp_path / 'd' / NAMES[1]}" in run.stdout


@pytest.mark.parametrize("args", [[], ["a", "b"]])
def test_the_command_wants_one_folder(args: list[str]):
    run = demos(*args)
    assert run.returncode == 2
    assert "give exactly one folder" in run.stderr


def test_the_command_has_help():
    run = demos("--help")
    assert run.returncode == 0
    assert "never overwritten" in run.stdout
