"""Names: Rucio's generic schema, plus ``#`` in names, as CMS block names have
(``/DYJetsToMuMu_M-50_TuneCP5/Run3Summer22NanoAODv12-130X_mcRun3/NANOAODSIM#a1b2``).

Rucio looks every value up in the policy package's ``schema`` module first and falls back to its
generic module for what is missing (``rucio.common.schema.get_schema_value``), so the generic
``SCHEMAS`` pick this ``NAME`` through their references. ``SCOPE_NAME_REGEXP`` must be here too:
Rucio reads it from the policy module itself.
"""

from rucio.common.schema import generic

NAME = {**generic.NAME, "pattern": r"^[/A-Za-z0-9][/A-Za-z0-9\.\-_#]*$"}
SCOPE_NAME_REGEXP = generic.SCOPE_NAME_REGEXP
