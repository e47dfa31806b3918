"""The access ledger's record of an analysis run: what :func:`jupyter_wp5.run` reports when it ends.

An ``analysis_run`` entry holds the inputs' DIDs and adler32 checksums, and three SHA-256 hashes:

- the code: the source of the processor's class (each method's source where the class's own cannot
  be read, as for a class typed into a notebook cell);
- the environment's lock: the sorted ``name==version`` list of the installed distributions
  (``importlib.metadata``), with the Python version first;
- the output: a canonical serialisation of the accumulated result (dict keys sorted, histograms as
  their axes, storage, values and variances, arrays as dtype, shape and little-endian bytes), so
  the same histograms give the same hash in any process.

The server appends it with its own Rucio account (``POST access/ledger/runs``); without a ledger
nothing is recorded. None of it delays the run's result: the inputs are listed while the run goes
on and the entry is appended after it returns.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib.metadata
import inspect
import marshal
import os
import platform
import re
import sys
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from .kernel.current import get_client
from .models import DID, NotFound, Wp5Error

__all__ = [
    "RunRecorder",
    "RunResult",
    "code_sha256",
    "env_lock_sha256",
    "output_sha256",
    "run_inputs",
]


class RunResult(dict):  # type: ignore[type-arg]
    """The accumulated output of :func:`jupyter_wp5.run` (the dict coffea returns), plus where the
    run is in the access ledger: :attr:`ledger_index` and :meth:`receipt`."""

    _entry: concurrent.futures.Future[int | None] | None = None

    @property
    def ledger_index(self) -> int | None:
        """The run's ledger entry; None when nothing was recorded. The append goes on after the
        run returns; this waits for it."""
        return None if self._entry is None else self._entry.result()

    def __getstate__(self) -> dict[str, Any]:
        # A pending append does not pickle (coffea.util.save, copy.deepcopy): keep its outcome.
        return {"ledger_index": self.ledger_index}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._entry = concurrent.futures.Future()
        self._entry.set_result(state.get("ledger_index"))

    def receipt(self) -> dict[str, Any]:
        """The run's ledger receipt, to keep and check offline with
        :func:`jupyter_wp5.ledger.verify` or ``jupyter wp5 ledger verify``."""
        index = self.ledger_index
        if index is None:
            raise NotFound("this run was not recorded in an access ledger")
        return get_client().receipt(index)


# -- the hashes ---------------------------------------------------------------------------------


def code_sha256(processor: Any) -> str:
    """SHA-256 of the source of ``processor``'s class."""
    cls = processor if isinstance(processor, type) else type(processor)
    return hashlib.sha256(_class_source(cls).encode()).hexdigest()


def _class_source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        # A class typed into a notebook cell has no file to read; its methods do (the cell's).
        pass
    parts = [cls.__qualname__]
    for name, value in sorted(vars(cls).items()):
        func = getattr(value, "__func__", value)
        if not inspect.isfunction(func):
            continue
        try:
            parts.append(inspect.getsource(func))
        except (OSError, TypeError):
            parts.append(f"{name}: {marshal.dumps(func.__code__).hex()}")
    return "\n".join(parts)


_lock_cache: tuple[tuple[tuple[str, int], ...], str] | None = None


def env_lock_sha256() -> str:
    """SHA-256 of this environment's lock: ``python==X.Y.Z`` and the sorted ``name==version``
    list of the installed distributions, one a line.

    Reading every distribution's metadata takes a while, so the hash is kept until a directory on
    ``sys.path`` changes (an install or removal changes its modification time).
    """
    global _lock_cache
    stamp = tuple((p, _mtime(p)) for p in sys.path)
    if _lock_cache is not None and _lock_cache[0] == stamp:
        return _lock_cache[1]
    digest = hashlib.sha256(env_lock().encode()).hexdigest()
    _lock_cache = (stamp, digest)
    return digest


def env_lock() -> str:
    """The lock text whose hash :func:`env_lock_sha256` gives."""
    names = {
        f"{_normalise(d.metadata['Name'] or '')}=={d.version}"
        for d in importlib.metadata.distributions()
        if d.metadata["Name"]
    }
    return "\n".join([f"python=={platform.python_version()}", *sorted(names)]) + "\n"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _mtime(path: str) -> int:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return -1


def output_sha256(output: Any) -> str:
    """SHA-256 of the canonical serialisation of ``output`` (see the module docstring)."""
    digest = hashlib.sha256()
    _feed(digest, output)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    """Write ``value`` to ``digest`` as tagged, length-prefixed parts, so that two different
    values never give the same stream."""

    def put(tag: str, data: bytes) -> None:
        digest.update(f"{tag}{len(data)}:".encode())
        digest.update(data)

    import numpy as np

    if value is None or isinstance(value, bool):
        put("c", repr(value).encode())
    elif isinstance(value, int | np.integer):
        put("i", str(int(value)).encode())
    elif isinstance(value, float | np.floating):
        put("f", float(value).hex().encode())
    elif isinstance(value, str):
        put("s", value.encode())
    elif isinstance(value, bytes):
        put("b", value)
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        put("a", f"{array.dtype.str}{array.shape}".encode())
        put("d", array.tobytes())
    elif _is_hist(value):
        put("h", value.storage_type.__name__.encode())
        for axis in value.axes:
            put("x", f"{type(axis).__name__}|{axis.name}|{axis.label}".encode())
            _feed(digest, np.asarray(axis.edges) if _is_continuous(axis) else list(axis))
        _feed(digest, np.asarray(value.values(flow=True)))
        variances = value.variances(flow=True)
        _feed(digest, None if variances is None else np.asarray(variances))
    elif isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: (type(kv[0]).__name__, str(kv[0])))
        put("m", str(len(items)).encode())
        for key, item in items:
            _feed(digest, key)
            _feed(digest, item)
    elif isinstance(value, set | frozenset):
        put("e", "".join(sorted(output_sha256(v) for v in value)).encode())
    elif isinstance(value, list | tuple):
        put("l", str(len(value)).encode())
        for item in value:
            _feed(digest, item)
    elif hasattr(value, "to_list"):  # awkward arrays
        _feed(digest, value.to_list())
    elif hasattr(value, "value"):  # coffea's value and column accumulators
        put("v", type(value).__qualname__.encode())
        _feed(digest, value.value)
    else:
        put("r", f"{type(value).__qualname__}:{value!r}".encode())


def _is_hist(value: Any) -> bool:
    return hasattr(value, "axes") and hasattr(value, "storage_type") and hasattr(value, "values")


def _is_continuous(axis: Any) -> bool:
    return not getattr(axis.traits, "discrete", False)


# -- the inputs -----------------------------------------------------------------------------------


def run_inputs(fileset: Mapping[str, Any]) -> list[dict[str, str]]:
    """The DID and adler32 of every file the run read, in DID order: the files of each fileset
    entry's dataset (``metadata["did"]``, as :func:`jupyter_wp5.fileset` writes it) whose name
    ends one of the entry's URLs. Entries without a DID add nothing."""
    client = get_client()
    inputs: dict[str, str] = {}
    for entry in fileset.values():
        did = (entry.get("metadata") or {}).get("did")
        if not did:
            continue
        basenames = {str(url).rsplit("/", 1)[-1] for url in _urls(entry.get("files") or {})}
        rse = (entry.get("metadata") or {}).get("rse")
        for f in client.files_all(DID.parse(did), rse):
            if f.adler32 and f.name.rsplit("/", 1)[-1] in basenames:
                inputs[f"{f.scope}:{f.name}"] = f.adler32
    return [{"did": did, "adler32": adler} for did, adler in sorted(inputs.items())]


def _urls(files: Mapping[str, Any] | Iterable[str]) -> Iterable[str]:
    return files.keys() if isinstance(files, Mapping) else files


# -- the record ---------------------------------------------------------------------------------


class RunRecorder:
    """Records one run, off its critical path: made before the run starts, it lists the inputs
    and hashes the code and the environment on a thread of its own while the run goes on;
    :meth:`finish` hashes the output and leaves the append to that thread."""

    def __init__(self, processor: Any, fileset: Mapping[str, Any]) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="wp5-run-record")
        self._before = self._pool.submit(_before_run, processor, dict(fileset))

    def ready(self) -> dict[str, Any]:
        """Wait for the part made during the run: ``inputs``, ``code_sha256``,
        ``env_lock_sha256``."""
        return self._before.result()

    def finish(self, output: Any) -> Any:
        """Record the finished run; return ``output`` at once, as a :class:`RunResult` when it is
        a dict (whose ``ledger_index`` waits for the append).

        Without a ledger nothing is recorded; when recording fails the run's result still
        stands, with a warning that says why.
        """
        digest = output_sha256(output)
        entry = self._pool.submit(self._append, digest)
        self._pool.shutdown(wait=False)  # its thread ends after the append
        if type(output) is not dict:
            return output
        result = RunResult(output)
        result._entry = entry
        return result

    def _append(self, output_digest: str) -> int | None:
        try:
            return get_client().record_run({**self.ready(), "output_sha256": output_digest})
        except NotFound:
            return None  # this server reports to no ledger
        except Wp5Error as err:
            warnings.warn(
                f"the run was not recorded in the access ledger: {err.message}", stacklevel=1
            )
            return None


def _before_run(processor: Any, fileset: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "inputs": run_inputs(fileset),
        "code_sha256": code_sha256(processor),
        "env_lock_sha256": env_lock_sha256(),
    }
