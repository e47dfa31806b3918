"""A local cluster's dashboard through the Jupyter server (jupyter-server-proxy), under a base
URL as JupyterHub gives one: the link the REST API hands out opens the real Bokeh dashboard."""

from __future__ import annotations

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from .contract import call

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def jp_base_url() -> str:
    return "/user/alice/"


@pytest.fixture
def jp_server_config() -> Config:
    # No Rucio needed; the proxy is its own server extension.
    return Config(
        {"ServerApp": {"jpserver_extensions": {"jupyter_wp5": True, "jupyter_server_proxy": True}}}
    )


async def test_dashboard_link_opens_through_the_jupyter_server(jp_fetch, jp_base_url):
    status, info = await call(jp_fetch, "POST", "clusters", {"profile": "cpu", "workers": 1})
    assert status == 201, info
    try:
        link = info["dashboard_link"]
        assert link.startswith(f"{jp_base_url}proxy/") and link.endswith("/status"), link
        response = await jp_fetch(*link.removeprefix(jp_base_url).split("/"), method="GET")
        assert response.code == 200
        page = response.body.decode()
        assert "Bokeh" in page or "bokeh" in page
        # Without the token the proxy is closed like every other Jupyter endpoint.
        with pytest.raises(HTTPClientError) as refused:
            await jp_fetch(
                *link.removeprefix(jp_base_url).split("/"),
                method="GET",
                headers={"Authorization": ""},
                follow_redirects=False,
            )
        assert refused.value.code in (302, 403)
    finally:
        status, _ = await call(jp_fetch, "DELETE", f"clusters/{info['id']}")
        assert status == 204
