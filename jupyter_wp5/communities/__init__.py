"""Partner communities (scopes, accounts, storage elements, profiles) and access between them.

:mod:`.config` holds the communities as configured; :mod:`.access` is the request/grant service,
whose grants Rucio itself enforces through the playground's policy package (docs/admin-guide.md).
"""

from __future__ import annotations

from .access import AccessService
from .config import Communities, Community
from .records import AccessRecord

__all__ = ["AccessRecord", "AccessService", "Communities", "Community"]
