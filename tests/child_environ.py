"""What a child process inherited: the environment it started with, read from /proc."""

from __future__ import annotations

from pathlib import Path


def secrets_in_environ_of(pid: int, secrets: list[str]) -> list[str]:
    """Which of ``secrets`` the environment process ``pid`` started with holds."""
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"PATH=" in environ, f"process {pid}: no environment read"
    return [s for s in secrets if s.encode() in environ]
