"""Dataset -> coffea fileset: the URLs of a DID's AVAILABLE replicas at one storage element.

Rucio resolves the URLs (``list_replicas`` with the RSE and scheme): we never build a PFN
ourselves, so a facility's own lfn2pfn algorithm and protocol priorities apply.
"""

from __future__ import annotations

from typing import Any

from traitlets import Unicode
from traitlets.config import LoggingConfigurable

from ..models import DID, Conflict, Fileset, FilesetEntry, InvalidRequest, NotFound
from .rucio_connection import RucioConnection
from .rucio_rows import REPLICA_BATCH, datasets_in, did_type_name


class FilesetService(LoggingConfigurable):
    """Turn datasets and containers into coffea filesets of replica URLs at a storage element."""

    tree_name = Unicode(
        "Events", config=True, help="The tree each fileset file maps to (NanoAOD: Events)."
    )

    def __init__(self, connection: RucioConnection, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connection = connection

    async def fileset(
        self,
        did: DID,
        rse: str,
        protocol: str | None = None,
        allow_partial: bool = False,
    ) -> Fileset:
        """The fileset of ``did`` (one entry per dataset of a container) at ``rse``.

        Parameters
        ----------
        did
            A dataset or a container.
        rse
            The storage element whose replicas to use.
        protocol
            A URL scheme such as ``root`` or ``davs``; ``None`` takes the RSE's preferred one.
        allow_partial
            Return the files that are there even when the copy at ``rse`` is incomplete.

        Raises
        ------
        Conflict
            When a dataset's copy at ``rse`` is incomplete and ``allow_partial`` is false.
        NotFound
            When there is no such DID or storage element.
        """
        if not rse:
            raise InvalidRequest("rse is required: the storage element whose copy to read")

        def build(client: Any) -> Fileset:
            if not list(client.list_rses(rse)):
                raise NotFound(f"no storage element matches '{rse}'")
            kind = did_type_name(client.get_did(did.scope, did.name).get("type"))
            if kind == "file":
                raise InvalidRequest(
                    f"{did} is a file; a fileset is made of a dataset or container"
                )
            datasets = [did] if kind == "dataset" else datasets_in(client, did)
            return Fileset([self._entry(client, ds, rse, protocol) for ds in datasets])

        try:
            result = await self.connection.run(build)
        except NotFound as err:
            raise NotFound(f"{did}: {err.message}") from None
        missing = [e for e in result.entries if not e.complete]
        if missing and not allow_partial:
            detail = "; ".join(
                f"{e.did} has {len(e.files)} of {e.files_total} files available" for e in missing
            )
            raise Conflict(
                f"the copy at {rse} is incomplete: {detail}. Wait for the transfer, read another "
                "copy, or ask for allow_partial"
            )
        return result

    def _entry(self, client: Any, ds: DID, rse: str, protocol: str | None) -> FilesetEntry:
        files = list(client.list_files(ds.scope, ds.name))
        # Rucio keeps a file's ``events`` in the DID row itself, so list_files answers it.
        counts = {f["name"]: f.get("events") for f in files}
        urls: dict[str, str] = {}
        file_events: dict[str, int] = {}
        size = 0
        for start in range(0, len(files), REPLICA_BATCH):
            batch = [
                {"scope": f["scope"], "name": f["name"]}
                for f in files[start : start + REPLICA_BATCH]
            ]
            # Without all_states Rucio answers only AVAILABLE replicas; the RSE filter keeps the
            # URLs to that one storage element.
            for rep in client.list_replicas(
                batch,
                schemes=[protocol] if protocol else None,
                rse_expression=rse,
            ):
                pfns = [url for url in (rep.get("rses") or {}).get(rse, []) if url]
                if pfns:
                    urls[pfns[0]] = self.tree_name
                    size += int(rep.get("bytes") or 0)
                    if counts.get(rep["name"]) is not None:
                        file_events[pfns[0]] = int(counts[rep["name"]])
        events = client.get_metadata(ds.scope, ds.name).get("events")
        return FilesetEntry(
            name=ds.name,
            files=urls,
            did=str(ds),
            rse=rse,
            protocol=protocol,
            files_total=len(files),
            bytes=size,
            events=int(events) if events is not None else None,
            file_events=file_events,
        )
