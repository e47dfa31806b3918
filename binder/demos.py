"""Execute the demo notebooks against a running playground and check what they found.

Used by the Binder emulation (``binder/emulate.sh`` runs ``python binder/demos.py``) and by the test
suite (``tests/integration/test_demos.py``). Each notebook leaves a ``results`` dict; the checks
compare it with what the playground seeded, read from the storage itself where possible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any

from jupyter_wp5.demos import DEMOS_DIR

HEP = DEMOS_DIR / "01-dimuon-z-peak.ipynb"
SPACE = DEMOS_DIR / "02-space-debris.ipynb"
ACCESS = DEMOS_DIR / "03-leonardo-inaf-access.ipynb"
Z_MASS_PDG = 91.1876


async def execute_async(notebook: Path, workdir: Path, timeout: int = 600) -> dict[str, Any]:
    """Run every cell of ``notebook`` in a fresh kernel; return its ``results`` dict.

    Async, so that a Jupyter server on the caller's event loop keeps answering the kernel.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import json; print(json.dumps(results))"))
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    await client.async_execute()
    out = nb.cells[-1].outputs
    text = "".join(o.get("text", "") for o in out if o.get("output_type") == "stream")
    return json.loads(text)


def check_hep(results: dict[str, Any], facility: Any) -> None:
    """The Z peak is where it belongs and every seeded event was read."""
    assert abs(results["z_mass"] - Z_MASS_PDG) < 1.0, results["z_mass"]
    for name, events in results["events"].items():
        seeded = next(d for d in facility.datasets if d.name == name)
        assert events == sum(f.events for f in seeded.files), (name, events)
        assert 0 < results["pairs"][name] <= events


def _catalogue(facility: Any) -> Any:
    """The seeded space-debris catalogue, read from the origin storage."""
    import pandas as pd

    seeded = next(d for d in facility.datasets if d.scope == "space")
    storage = facility.root / "storage"
    return pd.concat([pd.read_parquet(next(storage.rglob(f.name))) for f in seeded.files])


def check_space(results: dict[str, Any], facility: Any) -> None:
    """Counts per orbital regime equal those of the Parquet files at the origin storage."""
    seeded = next(d for d in facility.datasets if d.scope == "space")
    expected = _catalogue(facility)["orbital_regime"].value_counts().to_dict()
    assert results["per_regime"] == {k: int(v) for k, v in expected.items()}
    assert results["objects"] == sum(f.events for f in seeded.files)


def check_access(results: dict[str, Any], facility: Any) -> None:
    """Refused, granted, copied to Leonardo's storage element, analysed (the counts equal those of
    the origin's files), the grant's and a downloaded file's receipts verified and the altered
    ones refused, then revoked."""
    assert "no access grant" in results["refused"], results["refused"]
    assert results["granted"] == "granted" and results["copied_to"] == "SITE-C"
    table = _catalogue(facility)
    leo = table[table.apogee_alt_km < 2000]
    shells = (leo.perigee_alt_km // 100 * 100).astype("int64").value_counts()
    assert results["per_shell"] == {str(k): int(v) for k, v in shells.items()}
    crossing = table[(table.perigee_alt_km - 10 <= 550) & (table.apogee_alt_km + 10 >= 550)]
    expected = crossing["object_type"].value_counts()
    assert results["candidates"] == {k: int(v) for k, v in expected.items()}
    for words in ("(grant)", "witness-inaf", "witness-leonardo"):
        assert words in results["verified"], results["verified"]
    assert "altered" in results["tampered"], results["tampered"]
    # One download entry per file, each with a receipt; an altered checksum fails.
    assert results["download_receipts"] == results["downloaded"] > 0
    entry = results["download_entry"]
    assert entry["event"] == "download" and entry["account"] == "leonardo-user", entry
    assert len(entry["files"][0]["adler32"]) == 8 and entry["files"][0]["bytes"] > 0, entry
    assert "altered" in results["download_tampered"], results["download_tampered"]
    assert results["revoked"] == "revoked" and results["copy_id"] in results["rules_removed"]


def main() -> None:
    from jupyter_wp5.playground.facility import default_root
    from jupyter_wp5.playground.info import FacilityInfo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="the running playground's root")
    args = parser.parse_args()
    facility = FacilityInfo.read((args.root or default_root()) / "facility.json")
    workdir = Path(os.environ.get("WP5_DEMO_DIR", Path.cwd()))
    check_hep(asyncio.run(execute_async(HEP, workdir)), facility)
    print("demo 1 (Z peak): ok", flush=True)
    check_space(asyncio.run(execute_async(SPACE, workdir)), facility)
    print("demo 2 (space debris): ok", flush=True)
    check_access(asyncio.run(execute_async(ACCESS, workdir)), facility)
    print("demo 3 (Leonardo and INAF, access and ledger): ok", flush=True)


if __name__ == "__main__":
    main()
