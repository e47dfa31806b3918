"""What the server loaded at start is exempt from Python's cyclic garbage collector while it runs
(``Wp5App.freeze_at_start``): a full collection that walks every module, jupyter_server and
rucio-clients object again stops the event loop for about 100 ms, so every request waiting on it
(bench B8 measures this). When the server stops, those objects may be collected again."""

from __future__ import annotations

import gc

import pytest
from traitlets.config import Config


def wp5_app(serverapp):
    (app,) = [
        ext.app
        for pkg in serverapp.extension_manager.extensions.values()
        for ext in pkg.extension_points.values()
        if ext.app is not None and ext.app.name == "jupyter_wp5"
    ]
    return app


async def test_start_freezes_what_the_server_loaded_and_stop_releases_it(jp_serverapp):
    app = wp5_app(jp_serverapp)
    assert app.freeze_at_start
    try:
        assert gc.get_freeze_count() == 0
        await jp_serverapp._post_start()  # the start hooks, as `jupyter server` runs them
        frozen = gc.get_freeze_count()
        assert frozen > 10_000, frozen  # modules, the server, the extension's services
        # A full collection no longer visits them: it finds only what was made since.
        assert sum(gc.get_count()) < frozen
        await app.stop_extension()
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


class TestTurnedOff:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: Config) -> Config:
        jp_server_config.Wp5App.freeze_at_start = False
        return jp_server_config

    async def test_nothing_is_frozen(self, jp_serverapp):
        await jp_serverapp._post_start()
        assert gc.get_freeze_count() == 0
