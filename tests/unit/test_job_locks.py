"""The lock that tells a download run by a live process from one whose runner is gone, held by a
real second process: while it lives the download is its own; once it is killed (no chance to
clean up) the lock is free for a server to take the download over."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from jupyter_wp5.data.download import JobLocks

RUNNER = """
import sys, time
from pathlib import Path
from jupyter_wp5.data.download import JobLocks

locks = JobLocks(Path(sys.argv[1]))
assert locks.take(sys.argv[2])
print("held", flush=True)
time.sleep(600)
"""


def test_a_download_is_taken_over_only_once_its_runner_is_gone(tmp_path: Path) -> None:
    directory = tmp_path / "downloads"
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(directory), "abc"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert runner.stdout is not None and runner.stdout.readline() == "held\n"
        here = JobLocks(directory)
        assert here.held_elsewhere("abc")
        assert not here.take("abc")
        assert not here.held_elsewhere("other") and here.take("other")

        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=60)
        assert (directory / "abc.lock").exists()  # killed: its file stays, its lock does not
        assert not here.held_elsewhere("abc")
        assert here.take("abc")
        assert not JobLocks(directory).take("abc")  # a third runner: held here now
        here.release("abc")
        here.release("other")
        assert not list(directory.iterdir())
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=60)
        runner.stdout.close()


def test_a_manager_in_the_same_process_is_another_runner(tmp_path: Path) -> None:
    one, two = JobLocks(tmp_path), JobLocks(tmp_path)
    assert one.take("abc") and one.take("abc")  # taking again what one holds is a no-op
    assert two.held_elsewhere("abc") and not two.take("abc")
    assert not one.held_elsewhere("abc")
    two.discard("abc")  # held by one: left alone
    assert (tmp_path / "abc.lock").exists()
    one.release("abc")
    assert not two.held_elsewhere("abc") and two.take("abc")
    two.discard("abc")
    assert not (tmp_path / "abc.lock").exists()
