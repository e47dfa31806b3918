"""The names of the public Python API's functions, in one place: the package root offers them
lazily (without importing :mod:`jupyter_wp5.api` at import time) and :mod:`jupyter_wp5.api`
defines them."""

API_FUNCTIONS = (
    "access_requests",
    "cluster",
    "cluster_control",
    "clusters",
    "communities",
    "dataset",
    "deny_access",
    "files",
    "fileset",
    "grant_access",
    "health",
    "ledger_checkpoint",
    "new_cluster",
    "profiles",
    "receipt",
    "receipts",
    "replicate",
    "request_access",
    "revoke_access",
    "rses",
    "search",
    "set_client",
    "transfers",
    "use",
)
