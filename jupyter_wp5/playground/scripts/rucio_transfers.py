"""The playground's transfer machinery: Rucio's judge and conveyor daemons in one process loop.

Runs inside the Rucio server virtualenv (never imports jupyter_wp5); reads $RUCIO_CONFIG.
Usage: rucio_transfers.py [--interval SECONDS] [--repair-after SECONDS] [--housekeeping-every N]
[--parallel-copies N]

Each round (every --interval seconds) runs, once each: judge-evaluator (rules and attachments
become transfer requests), conveyor submitter (copies with the playground's transfertool, the
stand-in for FTS), poller (outcomes into requests) and finisher (replicas and locks: OK, retry, or
STUCK with the reason). Every --housekeeping-every rounds it also runs judge-repairer (STUCK rules
older than --repair-after get new transfers when due), judge-cleaner (expired and soft-deleted
rules go away) and the reaper (replicas no rule protects any more are deleted from storage).
Abacus-collection-replica runs every round: it keeps Rucio's per-dataset replica summary (what
``list_dataset_replicas`` answers without ``deep``) up to date. One
process keeps SQLite's write contention low; a step that still fails with "database is locked" is
replayed (see RECIPES.md).
"""

import argparse
import importlib.util
import itertools
import logging
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType

STOP = threading.Event()


def _load_db_retry() -> ModuleType:
    # jupyter_wp5 is not installed in Rucio's virtualenv: load its standard-library-only helper
    # from the file, so that the daemons replay locked writes exactly as the extension does.
    path = Path(__file__).resolve().parents[2] / "data" / "db_retry.py"
    spec = importlib.util.spec_from_file_location("wp5_db_retry", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


db_retry = _load_db_retry()


def _step(name: str, run: Callable[[], object], log: logging.Logger) -> None:
    """Run one daemon step; replay it when SQLite was locked, log (and go on) otherwise."""
    try:
        db_retry.retry_when_locked(run)
    except Exception:
        log.exception("%s failed", name)


def main() -> None:
    """Loop the daemons until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--repair-after", type=int, default=15)
    parser.add_argument("--housekeeping-every", type=int, default=5)
    parser.add_argument("--parallel-copies", type=int, default=4)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    # Rucio's daemons log every empty round at INFO: keep their warnings (failed copies,
    # retries, stuck locks) and our own INFO lines.
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    log = logging.getLogger("wp5-transfers")
    log.setLevel(logging.INFO)

    from rucio.core.transfer import TRANSFERTOOL_CLASSES_BY_NAME
    from rucio.daemons.abacus import collection_replica
    from rucio.daemons.common import HeartbeatHandler
    from rucio.daemons.conveyor import finisher, poller, submitter
    from rucio.daemons.judge import cleaner, evaluator, repairer
    from rucio.daemons.reaper import reaper
    from wp5_transfertool import PlaygroundCopyTransfertool

    tool = PlaygroundCopyTransfertool.external_name
    TRANSFERTOOL_CLASSES_BY_NAME[tool] = PlaygroundCopyTransfertool
    PlaygroundCopyTransfertool.parallel_copies = args.parallel_copies

    paused: dict[str, dict] = {"evaluator": {}, "repairer": {}, "cleaner": {}}
    with ExitStack() as stack:
        # The judges' own loops wait a second before every round; their run_once functions
        # with long-lived heartbeats do not.
        beats = {}
        for name in (
            "judge-evaluator",
            "judge-repairer",
            "judge-cleaner",
            "abacus-collection-replica",
        ):
            handler = HeartbeatHandler(executable=name, renewal_interval=60)
            _step(f"{name} heartbeat", lambda h=handler: stack.enter_context(h), log)
            beats[name] = handler
        # (name, every how many rounds, step): moving bytes runs every round, housekeeping less
        # often, which keeps the idle loop's CPU use low on a small machine.
        steps = [
            (
                "judge-evaluator",
                1,
                lambda: evaluator.run_once(
                    paused_dids=paused["evaluator"],
                    did_limit=100,
                    heartbeat_handler=beats["judge-evaluator"],
                ),
            ),
            (
                "conveyor-submitter",
                1,
                lambda: submitter.submitter(once=True, partition_wait_time=0, transfertools=[tool]),
            ),
            (
                "conveyor-poller",
                1,
                lambda: poller.poller(
                    once=True, partition_wait_time=0, older_than=0, transfertool=tool
                ),
            ),
            ("conveyor-finisher", 1, lambda: finisher.finisher(once=True, partition_wait_time=0)),
            (
                "abacus-collection-replica",
                1,
                lambda: collection_replica.run_once(
                    heartbeat_handler=beats["abacus-collection-replica"], limit=1000
                ),
            ),
            (
                "judge-repairer",
                args.housekeeping_every,
                lambda: repairer.run_once(
                    paused_rules=paused["repairer"],
                    delta=args.repair_after,
                    heartbeat_handler=beats["judge-repairer"],
                ),
            ),
            (
                "judge-cleaner",
                args.housekeeping_every,
                lambda: cleaner.run_once(
                    paused_rules=paused["cleaner"], heartbeat_handler=beats["judge-cleaner"]
                ),
            ),
            # Greedy: replicas no rule protects any more (tombstoned) are deleted from storage
            # at once, not only when an RSE runs out of space.
            (
                "reaper",
                args.housekeeping_every,
                lambda: reaper.reaper(
                    rses=[], include_rses=None, exclude_rses=None, once=True, greedy=True
                ),
            ),
        ]
        log.info("transfer daemons running (transfertool %s)", tool)
        for round_number in itertools.count():
            if STOP.is_set():
                break
            for name, every, run in steps:
                if STOP.is_set():
                    break
                if round_number % every == 0:
                    _step(name, run, log)
            STOP.wait(args.interval)
    log.info("transfer daemons stopped")


if __name__ == "__main__":
    main()
