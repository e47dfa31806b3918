"""The playground's storage in tests: slowed down so that an outage can land mid-copy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def throttled_storage(facility: Any, rse: str, throughput: int) -> Iterator[Any]:
    """``rse``'s XRootD server, restarted to move at most ``throughput`` bytes per second.

    On exit it runs unthrottled again, whatever the test did to it meanwhile (stopped it, or
    started it again).
    """
    element = next(e for e in facility.storage if e.rse == rse)
    if not element.uses_xrootd:
        pytest.fail(f"{rse} is a directory: this test needs XRootD (apt-get install xrootd-server)")
    facility.stop_storage(rse)
    facility.start_storage(rse, throughput=throughput)
    try:
        yield element
    finally:
        facility.stop_storage(rse)
        facility.start_storage(rse)
