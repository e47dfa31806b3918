"""Playground scales: deterministic, cached data generation and the counts each scale promises."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from jupyter_wp5.playground.datagen import cached, write_debris_parquet, write_nanoaod
from jupyter_wp5.playground.scales import CATALOGUE_SCOPE, SCALES, catalogue_plan
from jupyter_wp5.playground.seed import DATASETS, _generate

pytest.importorskip("uproot")


def _adler32(path: Path) -> int:
    return zlib.adler32(path.read_bytes()) & 0xFFFFFFFF


def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second, other = (tmp_path / d for d in ("a", "b", "c"))
    for directory, seed in ((first, 11), (second, 11), (other, 12)):
        directory.mkdir()
        write_nanoaod(directory / "f.root", "zmumu", 2000, seed)
        write_debris_parquet(directory / "t.parquet", 500, seed)
    for name in ("f.root", "t.parquet"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
        assert _adler32(first / name) != _adler32(other / name)


def test_generated_files_are_cached_and_reused(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plan = DATASETS[0]
    made = _generate(plan, 0, 2, 1500, cache)
    assert [g.name for g in made] == [f"{plan.name}_0001.root", f"{plan.name}_0002.root"]
    assert [g.events for g in made] == [1500, 1500]
    stamps = [g.path.stat().st_mtime_ns for g in made]
    checksums = [_adler32(g.path) for g in made]

    again = _generate(plan, 0, 2, 1500, cache)  # another run, e.g. after --fresh
    assert [g.path for g in again] == [g.path for g in made]
    assert [g.path.stat().st_mtime_ns for g in again] == stamps  # not written again
    assert [_adler32(g.path) for g in again] == checksums

    made[0].path.unlink()  # a lost file is generated again, with the same bytes
    assert _adler32(_generate(plan, 0, 1, 1500, cache)[0].path) == checksums[0]


def test_an_interrupted_write_is_not_taken_from_the_cache(tmp_path: Path) -> None:
    def broken(dest: Path) -> int:
        dest.write_bytes(b"half")
        raise OSError("disk full")

    def whole(dest: Path) -> int:
        dest.write_bytes(b"whole")
        return 7

    with pytest.raises(OSError):
        cached(tmp_path, "x.root", broken)
    path, count = cached(tmp_path, "x.root", whole)
    assert path.read_bytes() == b"whole" and count == 7


@pytest.mark.parametrize(
    ("scale", "min_events", "files"), [("medium", 2_000_000, 42), ("large", 8_000_000, 42)]
)
def test_scales_promise_events_files_and_catalogue(scale: str, min_events: int, files: int) -> None:
    spec = SCALES[scale]
    nanoaod = [d for d in DATASETS if d.kind == "nanoaod"]
    assert spec.files_per_dataset is not None and spec.events_per_file is not None
    assert len(nanoaod) * spec.files_per_dataset == files  # "about 40 files"
    assert len(nanoaod) * spec.files_per_dataset * spec.events_per_file >= min_events
    assert spec.catalogue

    plan = catalogue_plan("SITE-A")
    sizes = plan.sizes()
    assert plan.scope == CATALOGUE_SCOPE
    assert sum(n for _, n in sizes) == 100_000
    assert len(plan.dataset_names()) == 1000  # the container's datasets
    assert max(n for _, n in sizes) == 10_000


def test_small_is_todays_data() -> None:
    small = SCALES["small"]
    assert small.files_per_dataset is None and small.events_per_file is None  # --events, 2 files
    assert not small.catalogue
