"""B1 (search) and B2 (files and details): the catalogue service against rucio-clients used
directly, on catalogue-only data: the playground's own scope at ``--scale medium`` (100,000
files), else one registered for the run.

Ours is :class:`~jupyter_wp5.data.catalog.RucioCatalog`, the service behind ``/wp5/api/datasets``,
through the same bounded executor and cursor store the server uses (without the HTTP hop).
Baselines are what a script does with rucio-clients: read ``list_dids`` to the end (B1d: with
``long=True``, the sizes and file counts our pages carry); ask
``list_replicas`` for every file; count ``list_dataset_replicas(deep=True)``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

from jupyter_wp5.playground.catalogue_only import CatalogueOnlyPlan

from .common import Result, interleaved, median_seconds


@dataclass(frozen=True)
class Sizes:
    datasets: int
    files_per_dataset: int
    big_files: int
    page: int = 100  # search and file pages
    big_page: int = 1000  # the pages of the deep-offset walk

    def plan(self, scope: str, rse: str) -> CatalogueOnlyPlan:
        return CatalogueOnlyPlan(
            scope=scope,
            rse=rse,
            datasets=self.datasets,
            files_per_dataset=self.files_per_dataset,
            extra=[("big", self.big_files)],
            container="all",
        )


FULL = Sizes(datasets=1000, files_per_dataset=1, big_files=10_000)
SMOKE = Sizes(datasets=50, files_per_dataset=1, big_files=500, page=10, big_page=100)


def playground_scope(info: Any) -> tuple[str, Sizes] | None:
    """The playground's own catalogue-only scope (``--scale medium`` or ``large``: 100,000
    files), registered already, when it has one."""
    from jupyter_wp5.playground.scales import catalogue_plan

    if not info.catalogue:
        return None
    plan = catalogue_plan(info.rses[0])
    big = dict(plan.extra)["big"]
    return plan.scope, Sizes(plan.datasets, plan.files_per_dataset, big)


_users = itertools.count()


def _fresh_user() -> str:
    """A user with no open listing: each measured walk starts from Rucio."""
    return f"bench-{next(_users)}"


class CatalogBench:
    """B1 and B2 over one registered scope."""

    def __init__(self, facility: Any, scope: str, sizes: Sizes, repeat: int) -> None:
        from jupyter_wp5.data.catalog import RucioCatalog
        from jupyter_wp5.data.rucio_connection import RucioConnection
        from jupyter_wp5.playground.catalogue_only import register_in_core

        info = facility.info
        self.scope, self.sizes, self.repeat = scope, sizes, repeat
        self.plan = sizes.plan(scope, info.rses[0])
        start = time.perf_counter()
        register_in_core(self.plan, str(facility.rucio.venv.python), str(facility.files.server_cfg))
        print(f"{scope} registered after {time.perf_counter() - start:.0f} s")
        connection = RucioConnection(rucio_config=str(info.rucio_config))
        # The baselines are allowed what they take (the old details path took minutes).
        self.direct = RucioConnection(rucio_config=str(info.rucio_config), timeout=900).new_client()
        self.catalog = RucioCatalog(connection=connection)
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.catalog.close()
        self.loop.close()

    # -- B1 ----------------------------------------------------------------------------------

    def _walk(self, query: Any, limit: int, user: str | None = None) -> int:
        user = user or _fresh_user()
        cursor, seen = None, 0
        while True:
            page = self.run(self.catalog.search(query, limit, cursor, user=user))
            seen += len(page.items)
            cursor = page.next_cursor
            if not cursor:
                return seen

    def b1(self) -> list[Result]:
        from jupyter_wp5.models import SearchQuery

        n = self.sizes.datasets + len(self.plan.extra)
        query = SearchQuery.parse(f"{self.scope}:*", type="dataset")

        def direct_all() -> None:
            rows = list(self.direct.list_dids(self.scope, [{"name": "*"}], did_type="dataset"))
            assert len(rows) >= n

        def direct_long() -> None:
            # The same sizes and file counts our pages carry, asked of Rucio directly.
            rows = list(
                self.direct.list_dids(self.scope, [{"name": "*"}], did_type="dataset", long=True)
            )
            assert len(rows) >= n

        def first_page() -> None:
            page = self.run(self.catalog.search(query, self.sizes.page, None, user=_fresh_user()))
            assert len(page.items) == self.sizes.page

        def all_pages() -> None:
            assert self._walk(query, self.sizes.page) >= n

        direct_all(), first_page(), all_pages()  # warm: token, connections
        ours_first, base_first = interleaved(first_page, direct_all, self.repeat)
        ours_all, base_all = interleaved(all_pages, direct_all, self.repeat)
        ours_sized, base_sized = interleaved(all_pages, direct_long, self.repeat)
        return [
            Result(
                "B1a",
                f"search: first page of {n} datasets",
                "list_dids read to the end",
                ours_first,
                base_first,
            ),
            Result(
                "B1b",
                f"search: all {-(-n // self.sizes.page)} pages of {n} datasets",
                "one list_dids read to the end",
                ours_all,
                base_all,
                goal="<= 1.3",
            ),
            self._deep_page(),
            Result(
                "B1d",
                f"search: all {-(-n // self.sizes.page)} pages of {n} datasets (sizes included)",
                "one list_dids(long=True) read to the end",
                ours_sized,
                base_sized,
            ),
        ]

    def _deep_page(self) -> Result:
        """The deepest pages, reached by walking, against the first page.

        A page that reads from Rucio also reads the next one ahead (``CursorStore.read_ahead``
        is one big page), which then comes from memory: the cost of a page at that depth is the
        mean of the last two full pages, one read of two pages and one free page.
        """
        from jupyter_wp5.models import SearchQuery

        total = self.sizes.datasets * self.sizes.files_per_dataset + self.sizes.big_files
        size = self.sizes.big_page
        query = SearchQuery.parse(f"{self.scope}:*", type="file")
        deep = firsts = 0.0
        offset = 0
        for _ in range(self.repeat):
            user = _fresh_user()
            start = time.perf_counter()
            page = self.run(self.catalog.search(query, size, None, user=user))
            firsts += time.perf_counter() - start
            offset, full = 0, []
            while page.next_cursor:
                start = time.perf_counter()
                page = self.run(self.catalog.search(query, size, page.next_cursor, user=user))
                if len(page.items) == size:
                    full.append(time.perf_counter() - start)
                    offset += size
            deep += sum(full[-2:]) / len(full[-2:])
        return Result(
            "B1c",
            f"search: a page of {size} at offset {offset:,} of {total:,} files (mean of the "
            "last two full pages)",
            f"first page of {size}",
            deep / self.repeat,
            firsts / self.repeat,
            goal="<= 2",
            extra={"offset": offset},
        )

    # -- B2 ----------------------------------------------------------------------------------

    def b2(self) -> list[Result]:
        from jupyter_wp5.models import DID

        big = DID(self.scope, "big")
        container = DID(self.scope, "all")
        n = self.sizes.big_files

        def files_page() -> None:
            size = self.sizes.page
            page = self.run(self.catalog.files(big, None, size, None, user=_fresh_user()))
            assert len(page.items) == size

        def direct_replicas() -> None:
            files = list(self.direct.list_files(big.scope, big.name))
            seen = 0
            for start in range(0, len(files), 1000):
                batch = [{"scope": f["scope"], "name": f["name"]} for f in files[start:][:1000]]
                seen += sum(1 for _ in self.direct.list_replicas(batch, all_states=True))
            assert seen == n

        def details() -> None:
            d = self.run(self.catalog.describe(big))
            assert d.files == n and d.summary

        def direct_details() -> None:
            info = self.direct.get_did(big.scope, big.name, dynamic_depth="FILE")
            list(self.direct.list_dataset_replicas(big.scope, big.name, deep=True))
            assert info["length"] == n

        def container_details() -> None:
            d = self.run(self.catalog.describe(container))
            assert d.files == self.sizes.datasets * self.sizes.files_per_dataset

        def direct_container() -> None:
            for child in self.direct.list_content(container.scope, container.name):
                list(self.direct.list_dataset_replicas(child["scope"], child["name"]))

        files_page(), details(), container_details()  # warm
        # The baselines take tens of seconds at full size: measured once each.
        base_files = median_seconds(direct_replicas, 1)
        ours_files = median_seconds(files_page, self.repeat)
        ours_details, base_details = interleaved(details, direct_details, max(1, self.repeat // 2))
        ours_cont = median_seconds(container_details, self.repeat)
        base_cont = median_seconds(direct_container, 1)
        exact = self._exact_count(big)
        return [
            Result(
                "B2a",
                f"files: first page of a {n:,}-file dataset",
                "list_replicas of every file",
                ours_files,
                base_files,
            ),
            Result(
                "B2b",
                f"details of a {n:,}-file dataset (summary)",
                "get_did(dynamic_depth=FILE) + list_dataset_replicas(deep=True)",
                ours_details,
                base_details,
                goal="< 2 s",
                extra={"exact_count_s": exact},
            ),
            Result(
                "B2c",
                f"details of a container of {self.sizes.datasets} datasets (summary)",
                "list_dataset_replicas of each dataset",
                ours_cont,
                base_cont,
                goal="< 2 s",
            ),
        ]

    def _exact_count(self, did: Any) -> float:
        """Seconds for the background exact count (``?deep=1``) to finish."""
        start = time.perf_counter()

        async def count() -> None:
            await self.catalog.describe(did, deep=True)
            await self.catalog.details.wait(did)

        self.run(count())
        return time.perf_counter() - start
