"""B7: what keeping the access ledger on adds to the Z-peak analysis.

Demo 01's processor (read from the notebook itself, so it is the tutorial's code) runs with
``jupyter_wp5.run`` over the playground's signal and background at SITE-A, in this process
(coffea's iterative executor, so that no cluster's start-up hides the difference), as the
playground's account with its ledger. Runs with the ledger on (``record=True``: inputs listed,
code, environment and output hashed, one entry appended) and off (``record=False``) alternate,
the order flipping every pair, so that drift of a shared machine hits both alike. Goal: on / off
at most 1.01.
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

    client = client_as(info.account, info.root)
    wp5.api.set_client(client)
    try:
        fileset: dict[str, Any] = {}
        for did in DATASETS:
            fileset.update(wp5.fileset(did, rse="SITE-A"))
        processor = demo_processor()

        def once(record: bool) -> float:
            began = time.perf_counter()
            out = wp5.run(processor, fileset, progress=False, record=record)
            seconds = time.perf_counter() - began
            if record and getattr(out, "ledger_index", None) is None:
                raise RuntimeError("the run was not recorded: is the playground's ledger up?")
            return seconds

        once(True), once(False)  # warm-up: imports, file caches, the environment's lock
        on: list[float] = []
        off: list[float] = []
        for i in range(max(repeat, 1)):
            for record in (True, False) if i % 2 else (False, True):
                (on if record else off).append(once(record))
    finally:
        wp5.api.set_client(None)
    ours, base = statistics.median(on), statistics.median(off)
    print(f"B7: Z peak, ledger on {ours:.3f} s, off {base:.3f} s, ratio {ours / base:.4f}")
    return [
        Result(
            "B7",
            "Z-peak analysis (demo 01, in process) with the access ledger on",
            "the same run with the ledger off",
            ours=ours,
            base=base,
            goal="<= 1.01",
            notes=f"{len(on)} interleaved pairs; medians",
            extra={"on": on, "off": off},
        )
    ]
