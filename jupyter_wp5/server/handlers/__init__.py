"""Routes of the /wp5/api REST interface (the contract is jupyter_wp5/openapi.yaml)."""

from .access import (
    AccessDecisionHandler,
    AccessRequestHandler,
    AccessRequestsHandler,
    CommunitiesHandler,
    LedgerCheckpointHandler,
    LedgerReceiptHandler,
    LedgerRunsHandler,
)
from .clusters import ClusterHandler, ClustersHandler, ProfilesHandler
from .dashboard import DashboardHandler, DashboardSocketHandler
from .datasets import (
    DatasetFilesetHandler,
    DatasetFilesHandler,
    DatasetHandler,
    DatasetSearchHandler,
)
from .events import EventsHandler
from .health import HealthHandler
from .replicas import ReplicaHandler, ReplicasHandler
from .rses import StorageElementsHandler

_SCOPE = r"(?P<scope>[^/]+)"
_NAME = r"(?P<name>.+?)"
_RECORD = r"(?P<record_id>[^/]+)"
_REQUEST = r"(?P<request_id>[0-9a-f]+)"

ROUTES = [
    (r"health", HealthHandler),
    (r"datasets", DatasetSearchHandler),
    (rf"datasets/{_SCOPE}/{_NAME}/files", DatasetFilesHandler),
    (rf"datasets/{_SCOPE}/{_NAME}/fileset", DatasetFilesetHandler),
    (rf"datasets/{_SCOPE}/{_NAME}", DatasetHandler),
    (r"rses", StorageElementsHandler),
    (r"replicas", ReplicasHandler),
    (rf"replicas/{_RECORD}", ReplicaHandler),
    (r"events", EventsHandler),
    (r"profiles", ProfilesHandler),
    (r"clusters", ClustersHandler),
    (rf"clusters/{_RECORD}", ClusterHandler),
    (r"access/communities", CommunitiesHandler),
    (r"access/requests", AccessRequestsHandler),
    (rf"access/requests/{_REQUEST}", AccessRequestHandler),
    (rf"access/requests/{_REQUEST}/(?P<decision>grant|deny|revoke)", AccessDecisionHandler),
    (rf"clusters/{_RECORD}/dashboard/(?P<path>(?:.*/)?ws)", DashboardSocketHandler),
    (rf"clusters/{_RECORD}/dashboard/(?P<path>.*)", DashboardHandler),
    (r"access/ledger/checkpoint", LedgerCheckpointHandler),
    (r"access/ledger/receipts/(?P<index>[0-9]+)", LedgerReceiptHandler),
    (r"access/ledger/runs", LedgerRunsHandler),
]
