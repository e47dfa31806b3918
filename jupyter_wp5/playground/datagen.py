"""Synthetic data for the playground: NanoAOD-like ROOT files and an orbital-debris table.

Everything is drawn from seeded generators, so the same arguments always give the same events,
and the same bytes: a ROOT file's UUID is derived from the seed and its write timestamps are
fixed (see :func:`_fixed_root_clock`), so a file's adler32 depends only on what it holds.
"""

from __future__ import annotations

import datetime
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = [
    "DATAGEN_VERSION",
    "DEBRIS_COLUMNS",
    "MUON_MASS",
    "NANOAOD_BRANCHES",
    "PROCESSES",
    "Z_MASS",
    "Z_WIDTH",
    "cached",
    "debris_table",
    "default_cache_dir",
    "nanoaod_events",
    "orbital_regime",
    "write_debris_parquet",
    "write_nanoaod",
]

# Part of every cache key: bump it when a generator changes what it draws.
DATAGEN_VERSION = 1
Z_MASS = 91.1876  # GeV (PDG)
Z_WIDTH = 2.4952  # GeV (PDG)
W_MASS = 80.379  # GeV
MUON_MASS = 0.1056584  # GeV
PT_RESOLUTION = 0.01  # relative muon pT resolution

Process = Literal["zmumu", "ttbar", "wjets"]
PROCESSES: tuple[Process, ...] = ("zmumu", "ttbar", "wjets")

NANOAOD_BRANCHES = (
    "run",
    "luminosityBlock",
    "event",
    "nMuon",
    "Muon_pt",
    "Muon_eta",
    "Muon_phi",
    "Muon_mass",
    "Muon_charge",
    "MET_pt",
    "MET_phi",
)


@dataclass(frozen=True)
class _Muons:
    """Per-event muon lists, flattened with per-event counts."""

    counts: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    charge: np.ndarray


def _wrap_phi(phi: np.ndarray) -> np.ndarray:
    return (phi + np.pi) % (2 * np.pi) - np.pi


def _two_body_decay(
    rng: np.random.Generator, mass: np.ndarray, pt: np.ndarray, rapidity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Four-momenta (n, 2, 4: E, px, py, pz) of the muons of resonances of the given kinematics."""
    n = len(mass)
    phi = rng.uniform(-np.pi, np.pi, n)
    mt = np.sqrt(mass**2 + pt**2)
    parent = np.stack(
        [mt * np.cosh(rapidity), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(rapidity)],
        axis=1,
    )
    # Isotropic decay in the rest frame.
    p_star = np.sqrt(np.clip(mass**2 / 4 - MUON_MASS**2, 0, None))
    cos_t = rng.uniform(-1, 1, n)
    sin_t = np.sqrt(1 - cos_t**2)
    phi_star = rng.uniform(-np.pi, np.pi, n)
    p3 = np.stack([sin_t * np.cos(phi_star), sin_t * np.sin(phi_star), cos_t], axis=1)
    p3 *= p_star[:, None]
    e_star = mass / 2
    # Boost both daughters (+p3 and -p3) with the parent's velocity.
    beta = parent[:, 1:] / parent[:, :1]
    b2 = np.sum(beta**2, axis=1)
    gamma = 1 / np.sqrt(1 - b2)
    out = np.empty((n, 2, 4))
    for i, sign in enumerate((1.0, -1.0)):
        q = sign * p3
        bq = np.sum(beta * q, axis=1)
        coef = np.where(b2 > 0, (gamma - 1) * bq / np.where(b2 > 0, b2, 1), 0.0)
        out[:, i, 0] = gamma * (e_star + bq)
        out[:, i, 1:] = q + (coef + gamma * e_star)[:, None] * beta
    return out[:, 0], out[:, 1]


def _pt_eta_phi(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    px, py, pz = p4[:, 1], p4[:, 2], p4[:, 3]
    pt = np.hypot(px, py)
    return pt, np.arcsinh(pz / pt), np.arctan2(py, px)


def _random_muons(
    rng: np.random.Generator, counts: np.ndarray, pt_scale: float, pt_min: float
) -> _Muons:
    total = int(counts.sum())
    charge = rng.choice(np.array([-1, 1], dtype=np.int32), total)
    return _Muons(
        counts=counts,
        pt=pt_min + rng.exponential(pt_scale, total),
        eta=rng.normal(0, 1.2, total).clip(-2.4, 2.4),
        phi=rng.uniform(-np.pi, np.pi, total),
        charge=charge,
    )


def _zmumu(rng: np.random.Generator, n: int) -> tuple[_Muons, np.ndarray]:
    # Breit-Wigner (Cauchy) line shape, kept within a window so the tails stay physical.
    mass = np.empty(0)
    while len(mass) < n:
        draw = Z_MASS + 0.5 * Z_WIDTH * rng.standard_cauchy(2 * n)
        mass = np.concatenate([mass, draw[(draw > 60) & (draw < 120)]])
    mass = mass[:n]
    mu1, mu2 = _two_body_decay(rng, mass, rng.exponential(8.0, n), rng.normal(0, 1.0, n))
    pt1, eta1, phi1 = _pt_eta_phi(mu1)
    pt2, eta2, phi2 = _pt_eta_phi(mu2)
    # Detector resolution: smear each muon's pT by 1%.
    pt1 = pt1 * (1 + PT_RESOLUTION * rng.standard_normal(n))
    pt2 = pt2 * (1 + PT_RESOLUTION * rng.standard_normal(n))
    q1 = rng.choice(np.array([-1, 1], dtype=np.int32), n)
    # Some events carry an extra soft (non-resonant) muon.
    extra = rng.random(n) < 0.05
    soft = _random_muons(rng, extra.astype(np.int64), 3.0, 3.0)
    counts = 2 + extra.astype(np.int64)
    pt = np.zeros((n, 3))
    eta = np.zeros((n, 3))
    phi = np.zeros((n, 3))
    charge = np.zeros((n, 3), dtype=np.int32)
    pt[:, 0], eta[:, 0], phi[:, 0], charge[:, 0] = pt1, eta1, phi1, q1
    pt[:, 1], eta[:, 1], phi[:, 1], charge[:, 1] = pt2, eta2, phi2, -q1
    pt[extra, 2], eta[extra, 2], phi[extra, 2], charge[extra, 2] = (
        soft.pt,
        soft.eta,
        soft.phi,
        soft.charge,
    )
    mask = np.arange(3)[None, :] < counts[:, None]
    muons = _sorted_by_pt(counts, pt[mask], eta[mask], phi[mask], charge[mask])
    met = rng.exponential(12.0, n)
    return muons, met


def _ttbar(rng: np.random.Generator, n: int) -> tuple[_Muons, np.ndarray]:
    counts = rng.choice(np.arange(4), n, p=[0.35, 0.4, 0.2, 0.05])
    m = _random_muons(rng, counts, 35.0, 10.0)
    met = 20 + rng.exponential(60.0, n)
    return _sorted_by_pt(counts, m.pt, m.eta, m.phi, m.charge), met


def _wjets(rng: np.random.Generator, n: int) -> tuple[_Muons, np.ndarray]:
    counts = rng.choice(np.arange(3), n, p=[0.15, 0.8, 0.05])
    m = _random_muons(rng, counts, 10.0, 10.0)
    # The W's muon shows the Jacobian peak near m_W/2; its neutrino shows up as MET.
    cos_t = rng.uniform(-1, 1, n)
    jacobian = 0.5 * W_MASS * np.sqrt(1 - cos_t**2) + rng.normal(0, 2.0, n)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])[counts > 0]
    pt = m.pt.copy()
    pt[first] = np.abs(jacobian[counts > 0]) + 5
    met = np.abs(jacobian + rng.normal(0, 8.0, n))
    return _sorted_by_pt(counts, pt, m.eta, m.phi, m.charge), met


def _sorted_by_pt(
    counts: np.ndarray, pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, charge: np.ndarray
) -> _Muons:
    # NanoAOD lists objects by decreasing pT.
    event = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((-pt, event))
    return _Muons(counts=counts, pt=pt[order], eta=eta[order], phi=phi[order], charge=charge[order])


_GENERATORS = {"zmumu": _zmumu, "ttbar": _ttbar, "wjets": _wjets}


def nanoaod_events(
    process: Process, n_events: int, seed: int, first_event: int = 1, run: int = 1
) -> dict[str, object]:
    """Arrays of ``n_events`` NanoAOD-like events of ``process`` (an awkward record for muons)."""
    import awkward as ak

    rng = np.random.default_rng(seed)
    muons, met = _GENERATORS[process](rng, n_events)
    event = np.arange(first_event, first_event + n_events, dtype=np.uint64)
    muon = ak.unflatten(
        ak.zip(
            {
                "pt": muons.pt.astype(np.float32),
                "eta": muons.eta.astype(np.float32),
                "phi": _wrap_phi(muons.phi).astype(np.float32),
                "mass": np.full(len(muons.pt), MUON_MASS, dtype=np.float32),
                "charge": muons.charge.astype(np.int32),
            }
        ),
        muons.counts,
    )
    return {
        "run": np.full(n_events, run, dtype=np.uint32),
        "luminosityBlock": (1 + (event - 1) // 1000).astype(np.uint32),
        "event": event,
        "Muon": muon,
        "MET_pt": met.astype(np.float32),
        "MET_phi": rng.uniform(-np.pi, np.pi, n_events).astype(np.float32),
    }


_ROOT_EPOCH = datetime.datetime(2026, 1, 1)


class _FixedClock:
    """Stands in for the ``datetime`` module inside uproot's writers: ``now()`` is fixed."""

    class datetime(datetime.datetime):  # the module attribute's name
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return _ROOT_EPOCH


@contextmanager
def _fixed_root_clock() -> Iterator[None]:
    """ROOT files record when they, their directories and trees were written; uproot offers no
    option for that (it does for the UUID), so its writers see a fixed clock while we write."""
    from uproot.writing import _cascade, _cascadetree, writable

    modules = (_cascade, _cascadetree, writable)
    saved = [m.datetime for m in modules]  # type: ignore[attr-defined]
    for module in modules:
        module.datetime = _FixedClock  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.datetime = original  # type: ignore[attr-defined]


def write_nanoaod(
    path: Path, process: Process, n_events: int, seed: int, first_event: int = 1
) -> int:
    """Write a ROOT file with a NanoAOD-like TTree ``Events``; returns the number of events.

    The same arguments (``path``'s file name included: ROOT stores it) give the same bytes.
    """
    import uproot

    arrays = nanoaod_events(process, n_events, seed, first_event)
    types = {
        name: (value.type.content if name == "Muon" else value.dtype)  # type: ignore[attr-defined]
        for name, value in arrays.items()
    }
    file_uuid = uuid.UUID(int=seed)
    # mktree + extend gives a TTree; plain assignment would write an RNTuple.
    with _fixed_root_clock(), uproot.recreate(path, uuid_function=lambda: file_uuid) as out:
        tree = out.mktree("Events", types, title="Events")
        tree.extend(arrays)
    return n_events


def default_cache_dir() -> Path:
    """``$WP5_DATA_CACHE``, else ``~/.cache/jupyter-wp5/data``: generated files kept between
    playground runs (and across ``--fresh``)."""
    env = os.environ.get("WP5_DATA_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "jupyter-wp5" / "data"


def cached(cache_dir: Path, key: str, write: Callable[[Path], int]) -> tuple[Path, int]:
    """The file ``cache_dir/key`` and its event (or row) count, written by ``write(path)``
    first when it is not cached yet.

    ``key`` must name everything the bytes depend on. The count is kept beside the file; a file
    half written by an interrupted run is never taken (it is renamed into place when complete).
    """
    path = cache_dir / key
    count_file = path.with_name(path.name + ".count")
    if path.exists() and count_file.exists():
        return path, int(count_file.read_text())
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    count = write(partial)
    os.replace(partial, path)
    count_file.write_text(str(count))
    return path, count


# -- orbital debris ---------------------------------------------------------------------------

EARTH_RADIUS_KM = 6378.137
MU_EARTH = 398600.4418  # km^3/s^2
GEO_ALTITUDE_KM = 35786.0

DEBRIS_COLUMNS = (
    "object_id",
    "object_name",
    "object_type",
    "international_designator",
    "country",
    "launch_year",
    "epoch",
    "semi_major_axis_km",
    "eccentricity",
    "inclination_deg",
    "raan_deg",
    "arg_perigee_deg",
    "mean_anomaly_deg",
    "perigee_alt_km",
    "apogee_alt_km",
    "period_min",
    "orbital_regime",
    "rcs_m2",
)
OBJECT_TYPES = ("debris", "payload", "rocket body")
REGIMES = ("LEO", "MEO", "GEO", "HEO")
_COUNTRIES = ("US", "CIS", "PRC", "ESA", "JPN", "IND", "FR", "UK")
_PARENTS = (
    "FENGYUN 1C",
    "COSMOS 2251",
    "IRIDIUM 33",
    "NOAA 16",
    "SL-16",
    "CZ-4B",
    "DELTA 2",
    "ARIANE 5",
    "ENVISAT",
    "TIANGONG",
)


def orbital_regime(perigee_alt_km: np.ndarray, apogee_alt_km: np.ndarray) -> np.ndarray:
    """LEO / MEO / GEO / HEO from perigee and apogee altitudes (km)."""
    leo = apogee_alt_km < 2000
    geo = (np.abs(perigee_alt_km - GEO_ALTITUDE_KM) < 500) & (
        np.abs(apogee_alt_km - GEO_ALTITUDE_KM) < 500
    )
    meo = ~leo & ~geo & (perigee_alt_km >= 2000) & (apogee_alt_km < GEO_ALTITUDE_KM - 500)
    return np.select([leo, geo, meo], ["LEO", "GEO", "MEO"], default="HEO")


def debris_table(n_rows: int, seed: int, first_id: int = 10000):
    """A pandas DataFrame of ``n_rows`` synthetic catalogued space objects."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    family = rng.choice(np.array(REGIMES), n_rows, p=[0.72, 0.08, 0.1, 0.1])
    perigee = np.empty(n_rows)
    apogee = np.empty(n_rows)
    for regime, (lo, hi, spread) in {
        "LEO": (300.0, 1500.0, 150.0),
        "MEO": (19000.0, 23300.0, 300.0),
        "GEO": (35700.0, 35880.0, 40.0),
        "HEO": (250.0, 1200.0, 0.0),
    }.items():
        sel = family == regime
        k = int(sel.sum())
        base = rng.uniform(lo, hi, k)
        if regime == "HEO":
            # Molniya-like and geostationary-transfer orbits: low perigee, very high apogee.
            perigee[sel] = base
            apogee[sel] = rng.choice([39700.0, GEO_ALTITUDE_KM], k) + rng.normal(0, 300, k)
        else:
            ecc_alt = np.abs(rng.normal(0, spread, k))
            perigee[sel] = base
            apogee[sel] = base + ecc_alt
    a = EARTH_RADIUS_KM + (perigee + apogee) / 2
    ecc = (apogee - perigee) / (2 * a)
    inclination = np.select(
        [family == "GEO", family == "MEO", family == "HEO"],
        [
            np.abs(rng.normal(0, 2, n_rows)),
            rng.normal(55, 2, n_rows),
            rng.choice([63.4, 27.0, 7.0], n_rows),
        ],
        default=rng.choice([51.6, 74.0, 82.5, 86.4, 97.8, 98.6], n_rows)
        + rng.normal(0, 0.5, n_rows),
    )
    object_type = rng.choice(np.array(OBJECT_TYPES), n_rows, p=[0.62, 0.28, 0.10])
    launch_year = rng.integers(1960, 2026, n_rows)
    parent = rng.choice(np.array(_PARENTS), n_rows)
    suffix = np.where(
        object_type == "debris", " DEB", np.where(object_type == "rocket body", " R/B", "")
    )
    ids = np.arange(first_id, first_id + n_rows)
    piece = np.array([chr(ord("A") + i % 26) for i in range(n_rows)])
    epoch = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        rng.uniform(0, 180, n_rows), unit="D"
    )
    return pd.DataFrame(
        {
            "object_id": ids.astype(np.int64),
            "object_name": np.char.add(parent.astype(str), suffix.astype(str)),
            "object_type": object_type,
            "international_designator": [
                f"{y}-{(i * 7) % 150 + 1:03d}{p}"
                for y, i, p in zip(launch_year, ids, piece, strict=True)
            ],
            "country": rng.choice(np.array(_COUNTRIES), n_rows),
            "launch_year": launch_year.astype(np.int16),
            "epoch": epoch,
            "semi_major_axis_km": a,
            "eccentricity": ecc,
            "inclination_deg": np.clip(inclination, 0, 180),
            "raan_deg": rng.uniform(0, 360, n_rows),
            "arg_perigee_deg": rng.uniform(0, 360, n_rows),
            "mean_anomaly_deg": rng.uniform(0, 360, n_rows),
            "perigee_alt_km": perigee,
            "apogee_alt_km": apogee,
            "period_min": 2 * np.pi * np.sqrt(a**3 / MU_EARTH) / 60,
            "orbital_regime": orbital_regime(perigee, apogee),
            "rcs_m2": np.where(
                object_type == "debris",
                rng.lognormal(-3, 1.2, n_rows),
                rng.lognormal(1, 0.8, n_rows),
            ),
        }
    )


def write_debris_parquet(path: Path, n_rows: int, seed: int, first_id: int = 10000) -> int:
    """Write ``n_rows`` of :func:`debris_table` to a Parquet file; returns the row count."""
    debris_table(n_rows, seed, first_id).to_parquet(path, index=False)
    return n_rows
