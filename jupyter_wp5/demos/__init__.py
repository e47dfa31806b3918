"""The demo notebooks shipped with jupyter-wp5, and their copy into a user's folder.

A copy never overwrites a notebook the user changed: the folder keeps a small manifest of what was
copied (``.wp5-demos.json``, one SHA-256 per notebook). A notebook still as copied is updated to
the shipped version; one that differs from what was copied, or that was there before, is left.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

DEMOS_DIR = Path(__file__).resolve().parent
MANIFEST = ".wp5-demos.json"


def demo_notebooks() -> list[Path]:
    """The shipped demo notebooks, in the order to read them."""
    return sorted(DEMOS_DIR.glob("*.ipynb"))


@dataclass
class DemoCopy:
    """What :func:`copy_demos` did, by notebook name."""

    copied: list[str] = field(default_factory=list)  # new in the folder
    updated: list[str] = field(default_factory=list)  # still as copied, now the shipped version
    kept: list[str] = field(default_factory=list)  # changed by the user: left alone
    current: list[str] = field(default_factory=list)  # already the shipped version


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_demos(dest: str | Path) -> DemoCopy:
    """Copy the demo notebooks into ``dest`` (created if needed), never over a user's change."""
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / MANIFEST
    try:
        manifest: dict[str, str] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    done = DemoCopy()
    for source in demo_notebooks():
        target = folder / source.name
        shipped = _digest(source)
        if not target.exists():
            outcome = done.copied
        else:
            there = _digest(target)
            if there == shipped:
                manifest[source.name] = shipped
                done.current.append(source.name)
                continue
            if manifest.get(source.name) != there:
                done.kept.append(source.name)
                continue
            outcome = done.updated
        shutil.copyfile(source, target)
        manifest[source.name] = shipped
        outcome.append(source.name)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return done
