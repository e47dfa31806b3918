"""How fast is the first page of a catalogue search, compared with rucio-clients used directly?

Baseline: what a script (or the existing rucio-jupyterlab extension) does: ``client.list_dids``
read to the end, then the first page kept. Ours: ``RucioCatalog.search`` with a page limit, which
stops reading Rucio's stream once the page is full, run through the same bounded executor the
server uses. Both talk to the same playground Rucio, in the same run; the script prints medians and
the ratio. Extra files are registered first so that the listing is not trivially small.

    python bench/search_latency.py [--files 5000] [--repeat 7] [--root DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from pathlib import Path


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _register_files(rucio_config: Path, count: int) -> None:
    """Add ``count`` file DIDs (no replicas needed for a listing) in scope user.jovyan."""
    from rucio.common.exception import DataIdentifierAlreadyExists

    from jupyter_wp5.data.rucio_connection import RucioConnection

    conn = RucioConnection(rucio_config=str(rucio_config))
    client = conn.new_client()
    have = sum(1 for _ in client.list_dids("user.jovyan", [{"name": "bench.*"}], did_type="file"))
    if have >= count:
        return
    dataset = "bench.listing"
    with contextlib.suppress(DataIdentifierAlreadyExists):  # from an earlier run
        client.add_dataset("user.jovyan", dataset)
    for start in range(have, count, 500):
        files = [
            {
                "scope": "user.jovyan",
                "name": f"bench.file.{i:07d}",
                "bytes": 1,
                "adler32": "00000001",
            }
            for i in range(start, min(start + 500, count))
        ]
        client.add_files_to_dataset("user.jovyan", dataset, files, rse="SITE-A")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--root", type=Path, default=None, help="playground state directory")
    args = parser.parse_args()

    from jupyter_wp5.data.catalog import RucioCatalog
    from jupyter_wp5.data.rucio_connection import RucioConnection
    from jupyter_wp5.models import SearchQuery
    from jupyter_wp5.playground import Facility

    with Facility(root=args.root) as facility:
        info = facility.info
        _register_files(info.root_rucio_config, args.files)
        connection = RucioConnection(rucio_config=str(info.rucio_config))
        direct = connection.new_client()
        catalog = RucioCatalog(connection=connection)
        query = SearchQuery.parse("user.jovyan:bench.*", type="all")

        def baseline() -> None:
            rows = list(direct.list_dids("user.jovyan", [{"name": "bench.*"}], did_type="all"))
            assert len(rows) >= args.files
            assert len(rows[: args.limit]) == args.limit

        def ours() -> None:
            page = asyncio.run(catalog.search(query, limit=args.limit))
            assert len(page.items) == args.limit and page.next_cursor

        ours()  # warm both paths (token, connections)
        baseline()
        t_base = _median_seconds(baseline, args.repeat)
        t_ours = _median_seconds(ours, args.repeat)
        catalog.close()
    print(f"listing of {args.files} files, first page of {args.limit}, median of {args.repeat}")
    print(f"  rucio-clients list_dids, read all : {t_base * 1000:8.1f} ms")
    print(f"  jupyter-wp5 catalogue first page   : {t_ours * 1000:8.1f} ms")
    print(f"  ratio baseline / ours              : {t_base / t_ours:8.2f}x")


if __name__ == "__main__":
    main()
