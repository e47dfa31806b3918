"""Run the benchmark suite: each comparison side by side, in one run, on one playground.

    python -m bench [--smoke] [--root DIR] [--repeat N] [--only B1,B2,...] [--out DIR]

B1 search and B2 files/details (the playground's catalogue-only scope at ``--scale medium`` or
``large``, else catalogue-only data registered in a scope of their own), B3 copy (a rule from
SITE-A to SITE-B against plain xrdcp of the same files), B4 cluster start, B5 coffea throughput
(``jupyter_wp5.run`` against coffea's defaults and the uproot limit), B6 panel (render in headless
Chromium, bundle size), B7 the Z-peak analysis with the access ledger on against off, B8 load (the
server's loop lag and health under 200 searches and 5 copies, against idle). Writes
``<out>/<date>.json``, ``<date>.md`` (the table of ratios) and ``<date>.png`` (the chart), and
prints the table. ``--smoke`` runs every comparison once on small data (CI checks that the suite
works; its numbers mean nothing; B6 then measures the bundle only).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from .common import Result

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small data, one repetition")
    parser.add_argument("--root", type=Path, help="playground directory (default: a new one)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per measurement")
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. B1,B4")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    args = parser.parse_args(argv)
    repeat = 1 if args.smoke else args.repeat
    only = {x.strip().upper() for x in args.only.split(",") if x.strip()}

    def wanted(bench_id: str) -> bool:
        return not only or bench_id in only

    from jupyter_wp5.playground import Facility

    from . import catalog, cluster, copy, ledger_analysis, load, panel
    from .report import table, write

    results: list[Result] = []
    root = args.root or Path(tempfile.mkdtemp(prefix="wp5-bench-"))
    facility = Facility(root=root)
    info = facility.start()
    try:
        if wanted("B1") or wanted("B2"):
            own = None if args.smoke else catalog.playground_scope(info)
            if own is not None:
                scope, sizes = own
            else:
                sizes = catalog.SMOKE if args.smoke else catalog.FULL
                scope = "benchsmoke" if args.smoke else "bench1k"
            bench = catalog.CatalogBench(facility, scope, sizes, repeat)
            try:
                if wanted("B1"):
                    results += bench.b1()
                    print(table(results), flush=True)
                if wanted("B2"):
                    results += bench.b2()
            finally:
                bench.close()
        if wanted("B3"):
            results += copy.b3(info, smoke=args.smoke, repeat=repeat)
        if wanted("B4"):
            results += cluster.b4(repeat)
        if wanted("B7"):
            results += ledger_analysis.b7(info, repeat)
        if wanted("B8"):
            results += load.b8(info, smoke=args.smoke)
        if wanted("B6"):
            # The render starts the playground again, with its lab, on the same root.
            facility.stop()
            results += panel.b6(root, info, smoke=args.smoke)
    finally:
        # A playground made for this run goes away with it; a given one is only stopped.
        if args.root:
            facility.stop()
        else:
            facility.remove()
    if wanted("B5"):
        from . import coffea_bench

        results += coffea_bench.b5(repeat, smoke=args.smoke)
    paths = write(results, args.out, {"smoke": args.smoke, "repeat": repeat})
    print(table(results))
    print("written:", ", ".join(str(p) for p in paths.values()))


if __name__ == "__main__":
    main()
