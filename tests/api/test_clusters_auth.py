"""The compute endpoints refuse users the authorizer does not allow, before starting anything."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer
from traitlets.config import Config

from ..processes import assert_nothing_started, descendants
from .test_clusters_api import call


class DenyWp5(Authorizer):
    """Allows everything but the wp5 resource."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return resource != "wp5"


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_wp5": True},
                "authorizer_class": DenyWp5,
            }
        }
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "profiles", None),
        ("GET", "clusters", None),
        ("POST", "clusters", {"profile": "cpu", "workers": 1}),
        ("GET", "clusters/abc", None),
        ("PATCH", "clusters/abc", {"workers": 2}),
        ("DELETE", "clusters/abc", None),
    ],
)
async def test_forbidden_without_the_wp5_permission(jp_fetch, method, path, body):
    before = descendants()
    status, _, payload = await call(jp_fetch, method, path, body)
    assert status == 403 and payload["error"] == "forbidden"
    assert_nothing_started(before)
