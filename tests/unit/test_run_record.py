"""The hashes an ``analysis_run`` ledger entry holds: of the output (canonical: equal results give
equal hashes in any order and byte order, any change gives another), of the code and of the
environment's lock."""

from __future__ import annotations

import concurrent.futures
import copy
import pickle
import platform
import subprocess
import sys

import hist
import numpy as np
import pytest

from jupyter_wp5.ledger import EntryError, make_entry
from jupyter_wp5.models import NotFound
from jupyter_wp5.run_record import (
    RunResult,
    code_sha256,
    env_lock,
    env_lock_sha256,
    output_sha256,
)


def _histogram(values=(91.0, 90.5, 60.0)) -> hist.Hist:
    h = (
        hist.Hist.new.StrCat([], name="dataset", growth=True)
        .Reg(10, 60, 120, name="mass", label="m")
        .Double()
    )
    h.fill(dataset="DY", mass=np.array(values))
    return h


def _output(**changes):
    return {"mass": _histogram(), "events": {"DY": 3, "TT": 5}, "pairs": 2, **changes}


def test_equal_outputs_hash_alike_whatever_the_order():
    reordered = {"pairs": 2, "events": {"TT": 5, "DY": 3}, "mass": _histogram()}
    assert output_sha256(_output()) == output_sha256(reordered)
    big_endian = np.arange(4, dtype=">f8")
    assert output_sha256(big_endian) == output_sha256(np.arange(4, dtype="<f8"))


@pytest.mark.parametrize(
    "changed",
    [
        _output(mass=_histogram((91.0, 90.5, 70.0))),  # one entry in another bin
        _output(events={"DY": 3, "TT": 6}),
        _output(pairs=2.0),  # a float is not the int
        _output(extra=None),
        {"mass": _histogram(), "events": {"DY": 3, "TT": 5}},
    ],
)
def test_any_change_of_the_output_changes_its_hash(changed):
    assert output_sha256(changed) != output_sha256(_output())


def test_histograms_hash_their_binning_not_only_their_counts():
    coarse = hist.Hist.new.Reg(2, 0, 1, name="x").Double()
    shifted = hist.Hist.new.Reg(2, 0, 2, name="x").Double()
    assert output_sha256(coarse) != output_sha256(shifted)


class _Processor:
    def process(self, events):
        return {"n": len(events)}


class _Other:
    def process(self, events):
        return {"n": len(events) + 1}


def test_the_code_hash_follows_the_processor_source():
    assert code_sha256(_Processor()) == code_sha256(_Processor)
    assert code_sha256(_Processor()) != code_sha256(_Other())


def test_a_class_without_a_source_file_is_hashed_by_its_methods():
    """As a class typed into a notebook cell: exec'd code has no file; both runs agree."""
    code = (
        "from jupyter_wp5.run_record import code_sha256\n"
        "ns = {}\n"
        "exec('class P:\\n    def process(self, e):\\n        return {\"n\": N}\\n', ns)\n"
        "print(code_sha256(ns['P']))\n"
    )
    hashes = [
        subprocess.run(
            [sys.executable, "-c", code.replace("N", n)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for n in ("1", "1", "2")
    ]
    assert hashes[0] == hashes[1] != hashes[2]
    assert len(hashes[0]) == 64


def test_the_environment_lock_names_python_and_sorted_distributions():
    lines = env_lock().splitlines()
    assert lines[0] == f"python=={platform.python_version()}"
    assert lines[1:] == sorted(lines[1:])
    assert any(line.startswith("numpy==") for line in lines)
    assert any(line.startswith("jupyter-wp5==") for line in lines)
    assert len(env_lock_sha256()) == 64 and env_lock_sha256() == env_lock_sha256()


def test_a_run_result_pickles_and_copies_with_its_ledger_index():
    result = RunResult({"mass": _histogram()})
    result._entry = concurrent.futures.Future()
    result._entry.set_result(7)
    for again in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result)):
        assert type(again) is RunResult and again.ledger_index == 7
        assert output_sha256(again) == output_sha256(result)


def test_a_run_result_without_a_ledger_entry_has_no_receipt():
    result = RunResult({"n": 1})
    assert result == {"n": 1} and result.ledger_index is None
    with pytest.raises(NotFound, match="not recorded"):
        result.receipt()


def test_the_entries_for_copies_downloads_and_runs():
    rule = make_entry("rule_created", rule_id="a" * 32, account="lu", did="cms:x", rse="A|B")
    assert rule["rse"] == "A|B"
    download = make_entry(
        "download",
        account="lu",
        did="space:x",
        files=[{"did": "space:f.parquet", "adler32": "0a0b0c0d", "bytes": 123}],
    )
    assert download["files"][0]["bytes"] == 123
    for bad in (-1, "123", True):
        with pytest.raises(EntryError, match="files must be"):
            make_entry(
                "download",
                account="lu",
                did="space:x",
                files=[{"did": "space:f", "adler32": "0a0b0c0d", "bytes": bad}],
            )
    with pytest.raises(EntryError, match="rse must be an RSE expression"):
        make_entry("replica_ready", rule_id="r", did="cms:x", rse="SITE-A; rm -rf")
