"""The playground: a self-contained analysis facility on loopback.

A real Rucio server (its own virtualenv; SQLite, or a PostgreSQL server of its own), storage
elements (XRootD servers, or plain directories without XRootD) and seeded datasets.
``jupyter wp5 playground`` and the test suite's fixtures both use :class:`Facility`.
"""

from .facility import Facility, default_root
from .info import FacilityInfo, SeededDataset, SeededFile

__all__ = ["Facility", "FacilityInfo", "SeededDataset", "SeededFile", "default_root"]
