"""How fast is the access ledger? Appends with cosigned checkpoints, and proof verification.

Appends: ``--entries`` download entries (default 100,000) appended in batches of ``--batch``,
each batch followed by a checkpoint that the operator signs and both witnesses cosign after
checking a consistency proof. Two ways: in-process (the log's code over its SQLite store, the
witnesses as objects) and over HTTP against the real processes the playground runs (a log and two
witnesses on loopback). Then, on the full tree: the time to verify one inclusion proof, one
consistency proof, and one whole receipt (proof, canonical JSON, three Ed25519 signatures), as
p50 and p99 over ``--samples`` random leaves. Target: an inclusion proof in at most 1 ms at p99.
Over HTTP it also times recording one analysis run with its receipt (append, a checkpoint both
witnesses cosign, the proof): what logging one ``jupyter_wp5.run`` result would add to it.

    python bench/ledger_bench.py [--entries 100000] [--batch 1000] [--samples 5000] [--no-http]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _entries(start: int, count: int) -> list[dict]:
    from jupyter_wp5.ledger import make_entry

    return [
        make_entry(
            "download",
            account="leonardo-user",
            did="space:debris.catalogue",
            files=[{"did": f"space:debris-{i}.parquet", "adler32": f"{i % 2**32:08x}"}],
        )
        for i in range(start, start + count)
    ]


def _append_run(
    append: Callable[[list[dict]], None], checkpoint: Callable[[], None], args
) -> float:
    """Seconds to append ``args.entries`` in batches, checkpointing after each batch (entry
    construction is done before the clock starts)."""
    batches = [
        _entries(start, min(args.batch, args.entries - start))
        for start in range(0, args.entries, args.batch)
    ]
    began = time.perf_counter()
    for batch in batches:
        append(batch)
        checkpoint()
    return time.perf_counter() - began


def _in_process(root: Path, args) -> tuple[float, object]:
    from jupyter_wp5.ledger.log import LedgerLog
    from jupyter_wp5.ledger.note import Signer
    from jupyter_wp5.ledger.store import LogStore
    from jupyter_wp5.ledger.witness import Witness

    operator = Signer.generate("bench.example/ledger")
    witnesses = [
        Witness(
            Signer.generate(f"bench.example/witness-{p}"), operator.verifier, root / f"{p}.json"
        )
        for p in ("inaf", "leonardo")
    ]
    log = LedgerLog(LogStore(root / "log.sqlite"), operator, witnesses)
    seconds = _append_run(log.append, log.checkpoint, args)
    return seconds, log


def _analysis_run(i: int) -> dict:
    from jupyter_wp5.ledger import make_entry
    from jupyter_wp5.ledger.entries import sha256_hex

    return make_entry(
        "analysis_run",
        account="leonardo-user",
        inputs=[{"did": "space:debris.catalogue", "adler32": "1a2b3c4d"}],
        code_sha256=sha256_hex(f"code {i}".encode()),
        env_lock_sha256=sha256_hex(b"lock"),
        output_sha256=sha256_hex(f"output {i}".encode()),
    )


def _over_http(root: Path, args) -> tuple[float, float, float]:
    """Appends per second over HTTP, then the p50 and p99 seconds of recording one analysis run
    with its receipt (append, cosigned checkpoint, proof): what one logged run costs."""
    from jupyter_wp5.ledger import LedgerClient
    from jupyter_wp5.playground.ledger import PlaygroundLedger
    from jupyter_wp5.playground.processes import ProcessRegistry

    service = PlaygroundLedger(root / "ledger", ProcessRegistry(root / "pids.json", root / "logs"))
    info = service.start()
    try:
        client = LedgerClient(info.url, timeout=120, token=info.token())
        seconds = _append_run(client.append_many, client.checkpoint, args)
        record_50, record_99, _ = _percentiles(
            lambda i: client.record(_analysis_run(i)), list(range(args.records))
        )
        return args.entries / seconds, record_50, record_99
    finally:
        service.stop()


def _percentiles(fn: Callable[[int], None], samples: list[int]) -> tuple[float, float, float]:
    """Wall-clock p50 and p99, and the p99 of the CPU time of this thread (what the call costs
    without the waits of a shared, busy machine)."""
    wall, cpu = [], []
    for leaf in samples:
        began, began_cpu = time.perf_counter(), time.thread_time()
        fn(leaf)
        cpu.append(time.thread_time() - began_cpu)
        wall.append(time.perf_counter() - began)
    cuts = statistics.quantiles(wall, n=100)
    return cuts[49], cuts[98], statistics.quantiles(cpu, n=100)[98]


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="entries per checkpoint")
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--records", type=int, default=200, help="analysis runs recorded")
    parser.add_argument("--no-http", action="store_true", help="skip the run over HTTP")
    args = parser.parse_args()

    from jupyter_wp5.ledger import verify
    from jupyter_wp5.ledger.merkle import verify_consistency, verify_inclusion

    rows: list[tuple[str, str]] = []
    checkpoints = -(-args.entries // args.batch)
    with tempfile.TemporaryDirectory(prefix="wp5-ledger-bench-") as tmp:
        seconds, log = _in_process(Path(tmp) / "inproc", args)
        rows.append(("appends, in-process (SQLite)", f"{args.entries / seconds:10,.0f} /s"))
        if not args.no_http:
            rate, record_50, record_99 = _over_http(Path(tmp) / "http", args)
            rows.append(("appends, over HTTP (3 processes)", f"{rate:10,.0f} /s"))
            rows.append(("record a run + receipt, HTTP, p50", _us(record_50)))
            rows.append(("record a run + receipt, HTTP, p99", _us(record_99)))

        tree = log.store.tree
        size = tree.size
        root = tree.root()
        rng = random.Random(5)
        leaves = [rng.randrange(size) for _ in range(args.samples)]
        proofs = {i: tree.inclusion_proof(i, size) for i in leaves}
        p50, p99, p99_cpu = _percentiles(
            lambda i: verify_inclusion(tree.leaf(i), i, size, proofs[i], root), leaves
        )
        rows.append(("inclusion proof verify, p50", _us(p50)))
        rows.append(("inclusion proof verify, p99", _us(p99)))
        rows.append(("inclusion proof verify, p99 CPU", _us(p99_cpu)))
        olds = {i: max(1, i) for i in leaves}
        consistency = {i: tree.consistency_proof(olds[i], size) for i in leaves}
        old_roots = {i: tree.root(olds[i]) for i in leaves}
        _, c99, c99_cpu = _percentiles(
            lambda i: verify_consistency(olds[i], size, old_roots[i], root, consistency[i]),
            leaves,
        )
        rows.append(("consistency proof verify, p99", _us(c99)))
        rows.append(("consistency proof verify, p99 CPU", _us(c99_cpu)))
        receipts = {i: log.receipt(i) for i in leaves[:1000]}
        r50, r99, r99_cpu = _percentiles(lambda i: verify(receipts[i]), list(receipts))
        rows.append(("whole receipt verify (3 sigs), p50", _us(r50)))
        rows.append(("whole receipt verify (3 sigs), p99", _us(r99)))
        rows.append(("whole receipt verify, p99 CPU", _us(r99_cpu)))

    print(
        f"ledger: {args.entries:,} appends, {checkpoints} cosigned checkpoints (batch {args.batch})"
    )
    for name, value in rows:
        print(f"  {name:36s} {value}")
    print(f"  target: inclusion proof p99 <= 1000 us: {'met' if p99 <= 1e-3 else 'NOT met'}")


if __name__ == "__main__":
    main()
