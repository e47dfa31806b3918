"""The playground's Rucio policy package: Rucio's generic policy, plus owners manage their rules.

Selected in the server's rucio.cfg with ``[policy] package = wp5_policy``; importable because the
server and daemon scripts run from this directory. ``permission`` and ``schema`` (``#`` in names,
for CMS block names) are customised: Rucio falls back to its generic algorithms for everything
else.
"""

SUPPORTED_VERSION = [">=41.0.0,<42.0.0"]
