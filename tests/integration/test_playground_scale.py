"""`--scale medium` at facility size: 2 M NanoAOD events on storage and a catalogue-only scope of
100,000 files in Rucio, on SQLite and on PostgreSQL. Minutes each: run with ``--run-slow``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jupyter_wp5.data.rucio_connection import RucioConnection
from jupyter_wp5.playground import Facility
from jupyter_wp5.playground.postgres import postgres_bin

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.mark.parametrize(
    "database",
    [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(postgres_bin() is None, reason="no PostgreSQL installed"),
        ),
    ],
)
def test_medium_scale_registers_its_data(tmp_path: Path, database: str) -> None:
    fac = Facility(root=tmp_path / "playground", database=database, scale="medium")
    started = time.monotonic()
    try:
        info = fac.start()
        print(f"\nmedium on {database}: ready after {time.monotonic() - started:.0f} s")
        nanoaod = [d for d in info.datasets if d.kind == "nanoaod" and d.scope == "cms"]
        assert sum(len(d.files) for d in nanoaod) == 42
        assert sum(d.events for d in nanoaod) >= 2_000_000
        assert info.catalogue is not None and info.catalogue["files"] == 100_000

        client = RucioConnection(rucio_config=str(info.rucio_config)).new_client()
        scope = info.catalogue["scope"]
        container = info.catalogue["container"].split(":", 1)[1]
        members = list(client.list_content(scope, container))
        assert len(members) == 1000
        per_dataset = {
            d["name"]: d["length"]
            for d in client.list_dids(scope, {"name": "*"}, did_type="dataset", long=True)
        }
        big = info.catalogue["largest_dataset"].split(":", 1)[1]
        assert per_dataset[big] == 10_000
        assert sum(per_dataset[m["name"]] for m in members) + per_dataset[big] == 100_000
        # Every catalogue-only dataset is protected by an OK rule at its storage element.
        (rule,) = client.list_did_rules(scope, big)
        assert rule["rse_expression"] == info.catalogue["rse"] and rule["state"] == "OK"
        # The DY dataset's events are on storage and in Rucio's metadata.
        dy = nanoaod[0]
        assert client.get_metadata(dy.scope, dy.name)["events"] == dy.events
    finally:
        fac.remove()
