"""B7: what keeping the access ledger on adds to the Z-peak analysis.

Demo 01's processor (read from the notebook itself, so it is the tutorial's code) runs with
``jupyter_wp5.run`` over the playground's signal and background at SITE-A, in this process
(coffea's iterative executor, so that no cluster's start-up hides the difference), as the
playground's account with its ledger. Runs with the ledger on (``record=True``: inputs listed,
code, environment and output hashed, one entry appended) and off (``record=False``) alternate,
the order flipping every pair, so that drift of a shared machine hits both alike. A run's time is
until its result returns (the entry's append goes on after it, on the recorder's thread; each
"on" run waits for it, untimed, before the next starts). Goal: on / off at most 1.01. As whole
runs on a busy machine vary by more than that, the part of the record that delays the result
(hashing the output) and the append are also timed alone.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from .common import Result

NOTEBOOK = Path(__file__).parents[1] / "jupyter_wp5" / "demos" / "01-dimuon-z-peak.ipynb"
DATASETS = ("cms:DYJetsToLL_M-50_NanoAODv9", "cms:TTTo2L2Nu_NanoAODv9")


def demo_processor() -> Any:
    """An instance of demo 01's ``DimuonMass``, defined by the notebook's own cell."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    source = next(
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and "class DimuonMass" in "".join(c["source"])
    )
    # The cell ends by running the analysis; only its imports and the class are wanted here.
    definition = source.split("\noutput = ")[0]
    namespace: dict[str, Any] = {"__name__": "demo01"}
    exec(compile(definition, str(NOTEBOOK), "exec"), namespace)
    return namespace["DimuonMass"]()


def b7(info: Any, repeat: int) -> list[Result]:
    """Median seconds of the analysis with the ledger on and off, interleaved."""
    import jupyter_wp5 as wp5
    from jupyter_wp5.playground.parties import client_as
    from jupyter_wp5.run_record import RunRecorder

    client = client_as(info.account, info.root)
    wp5.api.set_client(client)
    try:
        fileset: dict[str, Any] = {}
        for did in DATASETS:
            fileset.update(wp5.fileset(did, rse="SITE-A"))
        processor = demo_processor()
        cpu_on: list[float] = []
        cpu_off: list[float] = []

        def once(record: bool) -> float:
            began, began_cpu = time.perf_counter(), time.process_time()
            out = wp5.run(processor, fileset, progress=False, record=record)
            seconds = time.perf_counter() - began
            # Waits for the append, which the next run may otherwise overlap (and so pay for).
            if record and out.ledger_index is None:
                raise RuntimeError("the run was not recorded: is the playground's ledger up?")
            (cpu_on if record else cpu_off).append(time.process_time() - began_cpu)
            return seconds

        once(True), once(False)  # warm-up: imports, file caches, the environment's lock
        cpu_on.clear(), cpu_off.clear()  # not the warm-up's
        on: list[float] = []
        off: list[float] = []
        for i in range(max(repeat, 1)):
            for record in (True, False) if i % 2 else (False, True):
                (on if record else off).append(once(record))
        # What the record adds before the result returns, measured alone (a busy shared
        # machine's noise in whole runs is larger than the difference): hashing the output.
        output = wp5.run(processor, fileset, progress=False, record=False)
        after, appended = [], []
        for _ in range(max(repeat, 1)):
            recorder = RunRecorder(processor, fileset)
            recorder.ready()  # the inputs: listed while a run goes on
            began = time.perf_counter()
            result = recorder.finish(output)
            after.append(time.perf_counter() - began)
            if result.ledger_index is None:
                raise RuntimeError("the run was not recorded")
            appended.append(time.perf_counter() - began)
    finally:
        wp5.api.set_client(None)
    ours, base = statistics.median(on), statistics.median(off)
    tail, append = statistics.median(after), statistics.median(appended)
    cpu = statistics.median(cpu_on) / statistics.median(cpu_off)
    print(
        f"B7: Z peak, ledger on {ours:.3f} s, off {base:.3f} s, ratio {ours / base:.4f}; "
        f"before the result returns the record adds {tail * 1e3:.2f} ms ({tail / base:.2%} of a "
        f"run); its append, after it, {append * 1e3:.1f} ms; this process's CPU time on / off "
        f"{cpu:.4f}"
    )
    return [
        Result(
            "B7",
            "Z-peak analysis (demo 01, in process) with the access ledger on",
            "the same run with the ledger off",
            ours=ours,
            base=base,
            goal="<= 1.01",
            notes=f"{len(on)} interleaved pairs; medians; alone, the record adds "
            f"{tail * 1e3:.2f} ms ({tail / base:.2%}) before the result returns, and its append "
            f"{append * 1e3:.1f} ms after; CPU time of this process on / off {cpu:.4f}",
            extra={
                "on": on,
                "off": off,
                "cpu_on": cpu_on,
                "cpu_off": cpu_off,
                "before_return": after,
                "with_append": appended,
            },
        )
    ]
