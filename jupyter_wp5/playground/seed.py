"""Seeding: generate the playground's datasets and put them into Rucio and onto storage.

Files are generated once into a cache kept between runs (see :func:`.datagen.cached`) and go
onto storage from there through rucio-clients' UploadClient (the real protocol: xrdcp or a file
copy), then are registered explicitly: dataset, replicas, attachment, metadata and finally a
dataset rule per RSE. Creating the rule after the files exist makes Rucio lock them at once, so
rules are OK without the judge daemon (an UploadClient-created dataset rule stays at 0 locks until
judge-evaluator sees the attachments).

At the ``medium`` and ``large`` scales a catalogue-only scope follows (see :mod:`.scales`).

Runs as ``root`` in a child process (see bootstrap.py for why). Rucio's generic permission policy
lets only admin accounts add replicas on RSEs not named ``*USERDISK``/``*SCRATCHDISK``, so the
ordinary account cannot upload to SITE-A..C; it can read everything and make its own rules.

Usage: ``python -m jupyter_wp5.playground.seed SPEC.json``
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalogue_only import CatalogueOnlyPlan
from .info import SeededDataset, SeededFile

__all__ = ["CMS_BLOCK", "CONTAINER", "DATASETS", "DatasetPlan", "seed"]


@dataclass(frozen=True)
class DatasetPlan:
    """What to generate for one dataset."""

    scope: str
    name: str
    kind: str  # "nanoaod" | "table"
    process: str  # datagen process, or "debris"
    metadata: dict[str, Any]
    # Its files' names start so; the dataset's own name when None.
    file_stem: str | None = None
    # A fixed number of files, whatever the scale asks for.
    n_files: int | None = None


_NANO_META = {
    "datatype": "NANOAODSIM",
    "campaign": "Run3Summer22",
    "project": "wp5-playground",
    "version": "v9",
    "prod_step": "nano",
}

DATASETS = (
    DatasetPlan(
        "cms", "DYJetsToLL_M-50_NanoAODv9", "nanoaod", "zmumu", {**_NANO_META, "phys_group": "SMP"}
    ),
    DatasetPlan(
        "cms", "TTTo2L2Nu_NanoAODv9", "nanoaod", "ttbar", {**_NANO_META, "phys_group": "TOP"}
    ),
    DatasetPlan(
        "cms", "WJetsToLNu_NanoAODv9", "nanoaod", "wjets", {**_NANO_META, "phys_group": "EWK"}
    ),
    DatasetPlan(
        "space",
        "debris_catalogue_2026",
        "table",
        "debris",
        {"datatype": "parquet", "campaign": "2026", "project": "space-debris", "version": "v1"},
    ),
)
CONTAINER = ("cms", "Run3Summer22_NanoAODv9")
# A CMS block in a scope of its own: its name has '/' segments, a leading '/' and a '#' (see
# wp5_policy.schema); its files have plain names. One copy, at the origin only, two small files.
CMS_BLOCK = DatasetPlan(
    "cmsblock",
    "/DYJetsToMuMu_M-50_TuneCP5/Run3Summer22NanoAODv12-130X_mcRun3/NANOAODSIM#a1b2",
    "nanoaod",
    "zmumu",
    {**_NANO_META, "phys_group": "SMP", "version": "v12"},
    file_stem="DYJetsToMuMu_M-50_Run3Summer22NanoAODv12_a1b2",
    n_files=2,
)
DEBRIS_ROWS_PER_FILE = 2000


@dataclass(frozen=True)
class _Generated:
    """One generated file: where it is (in the cache), its DID name, events or rows."""

    path: Path
    name: str
    events: int


def _generate(
    plan: DatasetPlan, index: int, n_files: int, events: int, cache: Path
) -> list[_Generated]:
    """The dataset's files, from the cache or written into it (same arguments, same bytes)."""
    from .datagen import DATAGEN_VERSION, cached, write_debris_parquet, write_nanoaod

    out = []
    for i in range(n_files):
        seed = 1000 * (index + 1) + i
        if plan.kind == "nanoaod":
            name = f"{plan.file_stem or plan.name}_{i + 1:04d}.root"
            first = i * events + 1
            key = f"nanoaod-{plan.process}-{events}ev-first{first}-seed{seed}-v{DATAGEN_VERSION}"
            path, n = cached(
                cache,
                f"{key}.root",
                lambda dest, first=first, seed=seed: write_nanoaod(
                    dest,
                    plan.process,  # type: ignore[arg-type]
                    events,
                    seed,
                    first_event=first,
                ),
            )
        else:
            name = f"{plan.name}_part{i + 1:04d}.parquet"
            first = 10000 + i * DEBRIS_ROWS_PER_FILE
            key = f"debris-{DEBRIS_ROWS_PER_FILE}rows-first{first}-seed{seed}-v{DATAGEN_VERSION}"
            path, n = cached(
                cache,
                f"{key}.parquet",
                lambda dest, first=first, seed=seed: write_debris_parquet(
                    dest, DEBRIS_ROWS_PER_FILE, seed, first_id=first
                ),
            )
        out.append(_Generated(path, name, n))
    return out


class _UploadLogger:
    """A logger UploadClient accepts with ``tracing=False``.

    rucio-clients 41.5.1 calls ``logger.log(...)`` but, when tracing is off, also ``logger(...)``
    on the object it was given; a plain ``logging.Logger`` is not callable.
    """

    def __init__(self) -> None:
        self._logger = logging.getLogger("wp5.seed.upload")

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        self._logger.log(level, msg, *args, **kwargs)

    __call__ = log


def _put(upload_client: Any, scope: str, files: list[_Generated], rse: str) -> None:
    """Copy files onto ``rse`` with the RSE's own protocol, without registering them."""
    upload_client.upload(
        [
            {
                "path": str(f.path),
                "rse": rse,
                "did_scope": scope,
                "did_name": f.name,
                "no_register": True,
            }
            for f in files
        ]
    )


def seed(spec: dict[str, Any]) -> list[SeededDataset]:
    """Generate, upload and register every dataset in :data:`DATASETS` and :data:`CMS_BLOCK`.

    ``spec`` keys: ``cache`` (generated files, kept between runs), ``output`` (seed.json
    path), ``events_per_file``, ``files_per_dataset``, ``origin_rse``, ``second_copy_rse``, and
    ``catalogue`` (a :class:`~.catalogue_only.CatalogueOnlyPlan` as a dict, or ``None``), and
    for it ``rucio_python`` and ``rucio_server_config`` (the Rucio server's interpreter and
    rucio.cfg: the catalogue is registered through Rucio's core API).
    """
    from rucio.client import Client
    from rucio.client.uploadclient import UploadClient
    from rucio.common.checksum import adler32, md5

    from .catalogue_only import register_in_core
    from .rucio_calls import BATCH, create, retry

    client = Client()
    uploader = UploadClient(_client=client, logger=_UploadLogger(), tracing=False)
    cache = Path(spec["cache"])
    origin, second = spec["origin_rse"], spec["second_copy_rse"]
    seeded: list[SeededDataset] = []
    for index, plan in enumerate((*DATASETS, CMS_BLOCK)):
        n_files = plan.n_files or int(spec["files_per_dataset"])
        generated = _generate(plan, index, n_files, int(spec["events_per_file"]), cache)
        files = [
            SeededFile(
                name=g.name, bytes=g.path.stat().st_size, adler32=adler32(g.path), events=g.events
            )
            for g in generated
        ]
        rses = [origin] if plan.kind == "table" or index > 0 else [origin, second]
        meta = {**plan.metadata, "events": sum(f.events for f in files)}

        create(client.add_dataset, plan.scope, plan.name)
        dids = [{"scope": plan.scope, "name": f.name} for f in files]
        replicas = [
            {
                "scope": plan.scope,
                "name": f.name,
                "bytes": f.bytes,
                "adler32": f.adler32,
                "md5": md5(g.path),
            }
            for f, g in zip(files, generated, strict=True)
        ]
        for rse in rses:
            _put(uploader, plan.scope, generated, rse)
            for start in range(0, len(replicas), BATCH):
                create(client.add_replicas, rse, replicas[start : start + BATCH])
            if rse == origin:
                for start in range(0, len(dids), BATCH):
                    create(client.attach_dids, plan.scope, plan.name, dids[start : start + BATCH])
                # Rucio keeps ``events`` per file and sums it into the dataset itself.
                retry(
                    client.set_dids_metadata_bulk,
                    [
                        {"scope": plan.scope, "name": f.name, "meta": {"events": f.events}}
                        for f in files
                    ],
                )
                retry(client.set_metadata_bulk, plan.scope, plan.name, plan.metadata)
                retry(client.close, plan.scope, plan.name)
            # The replicas exist already, so the rule's locks are OK immediately.
            create(
                client.add_replication_rule,
                [{"scope": plan.scope, "name": plan.name}],
                1,
                rse,
                grouping="DATASET",
            )
        seeded.append(SeededDataset(plan.scope, plan.name, plan.kind, files, rses, meta))

    scope, name = CONTAINER
    create(client.add_container, scope, name, meta={"campaign": "Run3Summer22"})
    members = [{"scope": d.scope, "name": d.name} for d in seeded if d.scope == scope]
    create(client.attach_dids, scope, name, members)

    catalogue = None
    if spec.get("catalogue"):
        catalogue = CatalogueOnlyPlan(**spec["catalogue"])
        started = time.perf_counter()
        register_in_core(catalogue, spec["rucio_python"], spec["rucio_server_config"])
        logging.getLogger("wp5.seed").info(
            "catalogue-only scope ready after %.0f s", time.perf_counter() - started
        )

    Path(spec["output"]).write_text(
        json.dumps(
            {
                "datasets": [d.to_dict() for d in seeded],
                "containers": {f"{scope}:{name}": [f"{scope}:{m['name']}" for m in members]},
                "catalogue": _catalogue_summary(catalogue),
            },
            indent=2,
        )
    )
    return seeded


def _catalogue_summary(plan: CatalogueOnlyPlan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    sizes = plan.sizes()
    return {
        "scope": plan.scope,
        "rse": plan.rse,
        "datasets": len(sizes),
        "files": sum(n for _, n in sizes),
        "container": f"{plan.scope}:{plan.container}" if plan.container else None,
        "largest_dataset": f"{plan.scope}:{max(sizes, key=lambda s: s[1])[0]}",
    }


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child process."""
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    seed(json.loads(Path(argv[0]).read_text()))


if __name__ == "__main__":
    main()
