"""Replay a Rucio write that failed because Rucio's SQLite database was locked.

With the Rucio server and its daemons in separate processes, SQLite writes sporadically fail with
"database is locked"; WAL and a busy timeout are not enough, replaying the failed request is. A
write that failed so was rolled back by Rucio, so replaying it cannot apply it twice. Every write
of ours goes through :func:`retry_when_locked`: the extension's rule requests, the playground's
bootstrap and seeding, and (loaded from this file, since it runs in Rucio's own virtualenv) the
playground's daemon loop. Standard library only, for that last reason.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["ATTEMPTS", "database_locked", "retry_when_locked"]

T = TypeVar("T")

ATTEMPTS = 6
_FIRST_DELAY = 0.2
# Capped: the daemons' own long transactions (a judge digesting thousands of attachments) hold
# the lock for seconds.
_MAX_DELAY = 5.0


def database_locked(err: BaseException | None) -> bool:
    """Whether ``err`` (or an exception it was raised from) is a locked or failed database.

    Over REST, rucio-clients raises ``DatabaseException`` with the server's message; inside
    Rucio's own processes the ``sqlite3.OperationalError`` is in the chain.
    """
    while err is not None:
        names = {cls.__name__ for cls in type(err).__mro__}
        if "DatabaseException" in names or "database is locked" in str(err).lower():
            return True
        err = err.__cause__ or err.__context__
    return False


def retry_when_locked(
    call: Callable[[], T],
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call()``; replay it with exponential back-off (with jitter) while it fails with a
    locked database, at most ``attempts`` times in all (the default waits about 8 s in all)."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as err:
            if attempt == attempts - 1 or not database_locked(err):
                raise
            delay = min(_MAX_DELAY, _FIRST_DELAY * 2**attempt)
            sleep(delay * random.uniform(0.75, 1.25))
    raise AssertionError("unreachable")
