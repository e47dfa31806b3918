"""Run a coffea processor on a managed Dask cluster: from a dataset to an accumulated result.

:func:`run` adds nothing the user could not write themselves: it builds the fileset with
:func:`jupyter_wp5.fileset` (the replica URLs at one storage element), picks coffea's
``DaskExecutor`` on the cluster's client, and routes the chunks with the cluster profile's worker
resources (``dask.annotate(resources={"GPU": 1})`` for a gpu profile), as RECIPES.md describes.

One thing it does better than coffea's defaults: coffea opens every file once before the run to
learn its event count (its preprocessing pass). The catalogue already knows those counts (a
fileset's ``file_events``), so :func:`run` hands them to the ``Runner`` as its metadata cache and
coffea cuts the chunks at once; files without a known count are still opened by coffea.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from .models import InvalidRequest

# Twice coffea's default: each chunk opens its file and builds NanoEvents again; on B5's data
# (200,000-event files) 200,000-event chunks ran 1.7x faster than 100,000 (bench/coffea_bench.py).
DEFAULT_CHUNKSIZE = 200_000


def run(
    processor_instance: Any,
    data: str | Mapping[str, Any],
    cluster: Any = None,
    *,
    rse: str | None = None,
    protocol: str | None = None,
    treename: str | None = None,
    chunksize: int = DEFAULT_CHUNKSIZE,
    maxchunks: int | None = None,
    schema: Any = None,
    resources: Mapping[str, float] | None = None,
    progress: bool = True,
    record: bool = True,
) -> Any:
    """Run ``processor_instance`` over a dataset and return its accumulated output.

    Parameters
    ----------
    processor_instance
        A ``coffea.processor.ProcessorABC`` instance.
    data
        A DID (``"cms:DYJetsToLL_M-50_NanoAODv9"``, turned into a fileset at ``rse``) or a coffea
        fileset mapping (as :func:`jupyter_wp5.fileset` returns).
    cluster
        Where to run: a :class:`jupyter_wp5.kernel.cluster.Cluster`, a cluster name or id, a
        ``distributed.Client``, or None to run in this process (coffea's iterative executor).
    rse, protocol
        Storage element (required when ``data`` is a DID) and URL scheme of the replicas.
    treename
        Tree to read when the fileset does not name it (filesets from jupyter_wp5 do).
    chunksize, maxchunks
        Events per chunk, and an optional cap on chunks (for a quick test run).
    schema
        NanoEvents schema; default ``NanoAODSchema``.
    resources
        Worker resources every chunk needs; default: those of the cluster's profile.
    progress
        Show coffea's progress bar.
    record
        Record the run in the access ledger when the server reports to one (inputs, and hashes
        of the code, the environment and the output; see :mod:`jupyter_wp5.run_record`). The
        result is then a :class:`~jupyter_wp5.run_record.RunResult`, a dict with
        ``ledger_index`` and ``receipt()``.
    """
    from coffea import processor
    from coffea.nanoevents import NanoAODSchema

    fileset = _as_fileset(data, rse, protocol)
    client, profile_resources = _dask_client(cluster)
    needs = dict(resources if resources is not None else profile_resources)
    if client is None:
        executor: Any = processor.IterativeExecutor(status=progress)
    else:
        executor = processor.DaskExecutor(client=client, status=progress)
    runner = processor.Runner(
        executor=executor,
        chunksize=chunksize,
        maxchunks=maxchunks,
        schema=schema or NanoAODSchema,
        # None: coffea's own cache, as before, when the catalogue knows no count.
        metadata_cache=_known_entries(fileset, treename) or None,
    )
    recorder = _recorder(processor_instance, fileset) if record else None
    with _annotate(needs):
        output = runner(fileset, processor_instance=processor_instance, treename=treename)
    return recorder.finish(output) if recorder is not None else output


def _recorder(processor_instance: Any, fileset: Mapping[str, Any]) -> Any:
    from .run_record import RunRecorder

    return RunRecorder(processor_instance, fileset)


def _as_fileset(
    data: str | Mapping[str, Any], rse: str | None, protocol: str | None
) -> dict[str, Any]:
    if isinstance(data, Mapping):
        return dict(data)
    if not rse:
        raise InvalidRequest(f"say which copy of {data} to read: run(..., rse='SITE')")
    from .api import fileset

    return fileset(str(data), rse=rse, protocol=protocol)


def _known_entries(fileset: Mapping[str, Any], treename: str | None = None) -> dict[Any, Any]:
    """coffea ``Runner`` metadata for each file of ``fileset`` whose event count is known.

    The keys are coffea's own ``FileMeta`` (dataset, file, tree), so the ``Runner`` finds them
    where it would store what its preprocessing pass reads from the file; the values carry the
    dataset's user metadata, as that pass would. The file's UUID is left empty: nothing in a run
    needs it.
    """
    from coffea.processor.executor import FileMeta

    cache: dict[Any, Any] = {}
    for dataset, entry in fileset.items():
        if not isinstance(entry, Mapping) or not entry.get("file_events"):
            continue
        counts = entry["file_events"]
        files = entry["files"]
        tree = entry.get("treename", treename)
        user = dict(entry.get("metadata") or {})
        for url in files:
            local_tree = tree if tree is not None else _tree_of(files, url)
            if url in counts and local_tree is not None:
                meta = {**user, "numentries": int(counts[url]), "uuid": b""}
                cache[FileMeta(dataset, url, local_tree)] = meta
    return cache


def _tree_of(files: Any, url: str) -> str | None:
    return files.get(url) if isinstance(files, Mapping) else None


def _dask_client(cluster: Any) -> tuple[Any, Mapping[str, float]]:
    """A distributed.Client for ``cluster`` and the worker resources its profile gives."""
    if cluster is None:
        return None, {}
    from distributed import Client

    if isinstance(cluster, Client):
        return cluster, {}
    from . import api

    managed = api.cluster(cluster) if isinstance(cluster, str) else cluster
    profile = next((p for p in api.profiles() if p.name == managed.info.profile), None)
    return managed.get_client(), (profile.resources if profile else {})


def _annotate(resources: Mapping[str, float]) -> contextlib.AbstractContextManager[Any]:
    if not resources:
        return contextlib.nullcontext()
    import dask

    # DaskExecutor has no resources argument; an annotation routes every chunk task.
    return dask.annotate(resources=dict(resources))
