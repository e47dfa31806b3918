"""The playground's synthetic data: NanoAOD-like TTrees and the orbital-debris table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from jupyter_wp5.playground import FacilityInfo, SeededDataset, SeededFile
from jupyter_wp5.playground.datagen import (
    DEBRIS_COLUMNS,
    NANOAOD_BRANCHES,
    Z_MASS,
    debris_table,
    orbital_regime,
    write_debris_parquet,
    write_nanoaod,
)
from jupyter_wp5.playground.info import LedgerInfo

uproot = pytest.importorskip("uproot")
ak = pytest.importorskip("awkward")


def _leading_pair_mass(events) -> np.ndarray:
    two = events[events.nMuon >= 2]
    pt, eta, phi, m = (two[f"Muon_{k}"][:, :2] for k in ("pt", "eta", "phi", "mass"))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    sums = [ak.to_numpy(ak.sum(x, axis=1)) for x in (e, px, py, pz)]
    return np.sqrt(np.clip(sums[0] ** 2 - sums[1] ** 2 - sums[2] ** 2 - sums[3] ** 2, 0, None))


@pytest.mark.parametrize("process", ["zmumu", "ttbar", "wjets"])
def test_nanoaod_is_a_ttree_with_nanoaod_branches(tmp_path: Path, process: str) -> None:
    path = tmp_path / f"{process}.root"
    assert write_nanoaod(path, process, 3000, seed=7) == 3000
    with uproot.open(path) as f:
        tree = f["Events"]
        assert isinstance(tree, uproot.TTree)
        assert tree.num_entries == 3000
        assert set(NANOAOD_BRANCHES) <= set(tree.keys())
        types = tree.typenames()
        assert types["nMuon"] == "int32_t"
        assert types["Muon_pt"] == "float[]"
        assert types["Muon_charge"] == "int32_t[]"
        events = tree.arrays()
    assert ak.all(ak.num(events.Muon_pt) == events.nMuon)
    assert ak.all(events.Muon_pt[:, :-1] >= events.Muon_pt[:, 1:])  # sorted like NanoAOD
    assert np.all(np.diff(ak.to_numpy(events.event)) == 1)


def test_zmumu_peaks_at_the_z_mass(tmp_path: Path) -> None:
    path = tmp_path / "dy.root"
    write_nanoaod(path, "zmumu", 5000, seed=1)
    events = uproot.open(path)["Events"].arrays()
    assert ak.all(events.nMuon >= 2)
    # The two Z muons have opposite charge; a rare extra soft muon may outrank one of them.
    opposite = ak.to_numpy(events.Muon_charge[:, 0] + events.Muon_charge[:, 1] == 0)
    assert opposite.mean() > 0.97
    mass = _leading_pair_mass(events)
    assert abs(np.median(mass) - Z_MASS) < 0.5
    counts, edges = np.histogram(mass, bins=np.arange(70, 111, 1.0))
    peak = edges[np.argmax(counts)] + 0.5
    assert abs(peak - Z_MASS) <= 1.5
    # Breit-Wigner width plus resolution: most events within a few GeV of the peak.
    assert np.mean(np.abs(mass - Z_MASS) < 5) > 0.7


def test_backgrounds_do_not_peak(tmp_path: Path) -> None:
    path = tmp_path / "tt.root"
    write_nanoaod(path, "ttbar", 5000, seed=2)
    mass = _leading_pair_mass(uproot.open(path)["Events"].arrays())
    assert np.mean(np.abs(mass - Z_MASS) < 5) < 0.2


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.root", tmp_path / "b.root"
    write_nanoaod(a, "wjets", 1000, seed=5)
    write_nanoaod(b, "wjets", 1000, seed=5)
    ea, eb = (uproot.open(p)["Events"].arrays() for p in (a, b))
    assert ak.all(ea.Muon_pt == eb.Muon_pt)
    assert ak.all(ea.MET_pt == eb.MET_pt)


def test_debris_table_columns_and_regimes(tmp_path: Path) -> None:
    path = tmp_path / "debris.parquet"
    assert write_debris_parquet(path, 3000, seed=3) == 3000
    import pandas as pd

    table = pd.read_parquet(path)
    assert tuple(table.columns) == DEBRIS_COLUMNS
    assert len(table) == 3000
    assert table.object_id.is_unique
    assert set(table.orbital_regime) == {"LEO", "MEO", "GEO", "HEO"}
    assert set(table.object_type) == {"debris", "payload", "rocket body"}
    assert (table.perigee_alt_km <= table.apogee_alt_km).all()
    assert table.eccentricity.between(0, 1, inclusive="left").all()
    assert table.inclination_deg.between(0, 180).all()
    expected = orbital_regime(table.perigee_alt_km.to_numpy(), table.apogee_alt_km.to_numpy())
    assert (table.orbital_regime.to_numpy() == expected).all()
    geo = table[table.orbital_regime == "GEO"]
    assert geo.period_min.between(1400, 1480).all()  # about one sidereal day


def test_debris_table_is_deterministic() -> None:
    a, b = debris_table(500, seed=9), debris_table(500, seed=9)
    assert a.equals(b)


def test_facility_info_round_trip(tmp_path: Path) -> None:
    ds = SeededDataset(
        "cms",
        "X",
        "nanoaod",
        [SeededFile("a.root", 10, "0000000a", 5), SeededFile("b.root", 5, "b", 1)],
        ["SITE-A"],
        {"events": 6},
    )
    assert ds.did == "cms:X" and ds.bytes == 15 and ds.events == 6
    info = FacilityInfo(
        root=tmp_path,
        rucio_url="http://127.0.0.1:1",
        rucio_config=tmp_path / "u.cfg",
        root_rucio_config=tmp_path / "r.cfg",
        account="jovyan",
        rses=["SITE-A"],
        datasets=[ds],
        storage={"SITE-A": "/x"},
    )
    info.write(tmp_path / "facility.json")
    assert FacilityInfo.read(tmp_path / "facility.json") == info

    ledger = LedgerInfo(
        url="http://127.0.0.1:2",
        origin="jupyter-wp5.playground/ledger",
        witnesses={"inaf": "http://127.0.0.1:3", "leonardo": "http://127.0.0.1:4"},
        verifier_keys=["a+00000000+AQ==", "b+00000000+AQ==", "c+00000000+AQ=="],
        keys_file=tmp_path / "verifier-keys.txt",
        token_file=tmp_path / "append.token",
    )
    replace(info, ledger=ledger).write(tmp_path / "facility.json")
    assert FacilityInfo.read(tmp_path / "facility.json").ledger == ledger
