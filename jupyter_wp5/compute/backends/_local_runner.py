"""Run one Dask LocalCluster in its own small process; the local backend talks to it over pipes.

Started by path (``python _local_runner.py [--warm]``), not as part of the package: the
workers' spawned processes re-import this main module, and it imports only the standard library at
the top (see RECIPES.md, start-up trap). Protocol, one JSON object per line:

* stdin, first: the cluster's spec. A ``--warm`` runner is started ahead of any request (the
  local backend keeps one spare): before reading its spec it imports distributed and readies a
  forkserver that has imported it too, so its workers are forked in milliseconds instead of each
  starting a new interpreter. A spec that needs a fresh interpreter per worker (dask-cuda,
  emulated workers) still gets spawned workers.
* stdout: first ``{"scheduler_address": ..., "dashboard_port": ...}`` (or ``{"error": ...}``),
  then one answer per command: ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``.
* stdin: ``{"op": "status"}``, ``{"op": "scale", "n": N}``, ``{"op": "adapt", "minimum": a,
  "maximum": b}``, ``{"op": "close"}``. End of input (the server went away) closes the cluster.
  Either way, every process left in this process's group (whatever tasks started) is then ended.

Everything else (dask's logs, stray prints) goes to stderr.
"""

import asyncio
import json
import os
import signal
import sys
import time


def _send(proto, payload):
    proto.write(json.dumps(payload) + "\n")
    proto.flush()


async def _wait_for_workers(cluster, n, timeout):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(cluster.scheduler.workers) != n:
        if loop.time() > deadline:
            have = len(cluster.scheduler.workers)
            raise TimeoutError(f"{have} workers after {timeout:g} s, expected {n}")
        await asyncio.sleep(0.05)


def _status(cluster, dashboard_port):
    from jupyter_wp5.compute.backends.base import worker_architectures

    workers = list(cluster.scheduler.workers.values())
    return {
        "workers": len(workers),
        "cores": sum(w.nthreads for w in workers),
        "memory": sum(w.memory_limit or 0 for w in workers),
        "gpus": int(sum(w.resources.get("GPU", 0) for w in workers)),
        "scheduler_address": cluster.scheduler_address,
        "dashboard_port": dashboard_port,
        "architectures": worker_architectures(workers),
    }


def _stop_adaptive(cluster):
    adaptive = getattr(cluster, "_adaptive", None)
    if adaptive is not None:
        adaptive.stop()
        cluster._adaptive = None


async def _handle(cluster, cmd, spec, dashboard_port):
    op = cmd.get("op")
    if op == "status":
        return _status(cluster, dashboard_port)
    if op == "scale":
        _stop_adaptive(cluster)
        cluster.scale(int(cmd["n"]))
        await _wait_for_workers(cluster, int(cmd["n"]), spec["timeout"])
        return _status(cluster, dashboard_port)
    if op == "adapt":
        cluster.adapt(minimum=int(cmd["minimum"]), maximum=int(cmd["maximum"]))
        return _status(cluster, dashboard_port)
    if op == "close":
        _stop_adaptive(cluster)
        await cluster.close()
        return {}
    raise ValueError(f"unknown command {op!r}")


async def _serve(spec, proto, method):
    import importlib.util
    import logging

    import dask

    dask.config.set({"distributed.worker.multiprocessing-method": method})

    if spec.get("emulated_rootfs"):
        from jupyter_wp5.compute.arm_launcher import EmulatedCluster as cluster_class
    elif spec.get("cuda"):
        from dask_cuda import LocalCUDACluster as cluster_class
    else:
        from distributed import LocalCluster as cluster_class

    adaptive = spec.get("workers") is None
    kwargs = {
        "n_workers": 0 if adaptive else spec["workers"],
        "threads_per_worker": spec["threads_per_worker"],
        "memory_limit": spec["memory_limit"],
        "host": "127.0.0.1",
        "scheduler_port": 0,
        "dashboard_address": "127.0.0.1:0",
        "processes": True,
        "asynchronous": True,
        "silence_logs": logging.WARNING,
    }
    if spec.get("resources"):
        kwargs["resources"] = spec["resources"]
    if spec.get("emulated_rootfs"):
        kwargs["rootfs"] = spec["emulated_rootfs"]
    if spec.get("security"):
        from distributed import Security

        kwargs["security"] = Security(**spec["security"])
        kwargs["protocol"] = "tls://"
    try:
        cluster = await cluster_class(**kwargs)
    except Exception as exc:
        _send(proto, {"error": f"{type(exc).__name__}: {exc}"})
        return
    try:
        has_dashboard = importlib.util.find_spec("bokeh") is not None
        http = getattr(cluster.scheduler, "http_server", None)
        dashboard_port = http.port if has_dashboard and http is not None else None
        if adaptive:
            cluster.adapt(minimum=spec["minimum"], maximum=spec["maximum"])
        else:
            await _wait_for_workers(cluster, spec["workers"], spec["timeout"])
        _send(
            proto,
            {"scheduler_address": cluster.scheduler_address, "dashboard_port": dashboard_port},
        )
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                break  # the server went away
            try:
                cmd = json.loads(line)
            except ValueError:
                _send(proto, {"ok": False, "error": "not a JSON command"})
                continue
            try:
                answer = {"ok": True, **await _handle(cluster, cmd, spec, dashboard_port)}
            except Exception as exc:
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            _send(proto, answer)
            if cmd.get("op") == "close":
                return
    finally:
        if cluster.status.name not in ("closing", "closed"):
            await cluster.close()


def _warm_up():
    """Import distributed and its dashboard, and start a forkserver that has imported distributed
    (what a spare does while it waits for its spec); False when that failed and workers must be
    spawned."""
    try:
        import importlib
        import importlib.util

        import dask
        from distributed import LocalCluster, Security  # noqa: F401
        from distributed.utils import get_mp_context

        # What the scheduler imports as it starts: its dashboard (seconds, with bokeh) and routes.
        modules = list(dask.config.get("distributed.scheduler.http.routes"))
        if importlib.util.find_spec("bokeh") is not None:
            modules.append("distributed.dashboard.scheduler")
        for module in modules:
            importlib.import_module(module)
        # Forked workers start with the forkserver's environment: give it what dask's nanny sets
        # before spawning each worker (OMP_NUM_THREADS=1..., the fixed hash seed), as dask does.
        for name, value in dask.config.get("distributed.nanny.pre-spawn-environ").items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = str(value)
        os.environ.setdefault("PYTHONHASHSEED", "6640")
        dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
        context = get_mp_context()
        # The forkserver imports its preload list after it started: one throwaway child waits
        # for that, so the cluster's first worker does not.
        child = context.Process(target=time.sleep, args=(0,))
        child.start()
        child.join()
        return child.exitcode == 0
    except Exception as exc:
        print(f"warm-up failed, workers will be spawned: {exc!r}", file=sys.stderr)
        return False


def _can_fork_workers(spec):
    # dask-cuda's workers and emulated ones need their own environment before they start.
    return not (spec.get("cuda") or spec.get("emulated_rootfs"))


def _read_spec():
    # Unbuffered, one byte at a time: what follows the spec is read later by asyncio.
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            return None  # the server went away before sending one
        line += byte
    return json.loads(line)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    # Our directory is not a package root: keep its modules (base.py, local.py) off sys.path.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    # The protocol keeps the real stdout; anything else printed goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        forked = "--warm" in sys.argv[1:] and _warm_up()
        spec = _read_spec()
        if spec is None:
            return
        if spec.get("remove_malloc_trim"):
            os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        method = "forkserver" if forked and _can_fork_workers(spec) else "spawn"
        asyncio.run(_serve(spec, proto, method))
    finally:
        _end_process_group()


def _end_process_group():
    """End what the cluster left running: processes that user code on a worker started outlive
    the workers. This process leads its own process group (local.py starts it in a new session)
    and everything below it inherits the group, so one signal to the group reaches them all."""
    if os.getpgid(0) != os.getpid():
        return  # not our own group: never signal the server's
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)


if __name__ == "__main__":
    main()
