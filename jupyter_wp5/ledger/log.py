"""The ledger's log: append entries, checkpoint them, have the witnesses cosign, serve proofs.

Run it as its own process (``python -m jupyter_wp5.ledger.log --help``); it listens on loopback
and keeps everything in one SQLite file. Its HTTP API (JSON; errors ``{"error", "message"}``):

- ``POST /entries`` ``{"entries": [...]}``: validate, append; 201 ``{"first_index", "tree_size"}``;
  with ``--token-file``, only with ``Authorization: Bearer <token>`` (401 otherwise): the
  services that report events hold the token, readers need none
- ``GET /entries?start=&end=``: entries as stored (at most 1000)
- ``POST /checkpoint``: sign a checkpoint of the whole log, have every witness cosign it, keep it
  and return it (``{"checkpoint", "tree_size"}``); 502 when a witness refuses
- ``GET /checkpoint``: the latest cosigned checkpoint (404 before the first)
- ``GET /proof/inclusion?index=&size=``, ``GET /proof/consistency?old=&new=``: base64 hashes
- ``POST /receipt`` ``{"index": n}``: the receipt of entry n (checkpointing first if needed)
- ``GET /keys``: the operator's and the witnesses' verifier keys
"""

from __future__ import annotations

import argparse
import base64
import hmac
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ._http import HTTPFailure, Request, Response, add_server_args, serve
from .entries import EntryError, canonical_json, validate_entry
from .note import (
    Checkpoint,
    NoteError,
    Signer,
    VerifierKey,
    load_or_create_signer,
    parse_note,
    parse_signature_line,
    sign_note,
)
from .protocol import WitnessRefusal
from .receipt import make_receipt
from .store import LogStore

__all__ = ["Cosigner", "LedgerLog", "WitnessFailure", "main"]

MAX_ENTRIES_PER_READ = 1000


class Cosigner(Protocol):
    """A witness as the log sees it (in-process :class:`~.witness.Witness` or
    :class:`~.client.RemoteWitness`)."""

    name: str

    @property
    def key(self) -> VerifierKey:
        """The witness's verifier key."""
        ...

    def add_checkpoint(self, old_size: int, proof: list[bytes], note: str) -> str:
        """The witness's signature line, or :class:`WitnessRefusal`."""
        ...


class WitnessFailure(RuntimeError):
    """A witness refused to cosign (or could not be reached)."""


def _b64(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


class LedgerLog:
    """The log operator: a store, the operator's signer, and the witnesses to ask."""

    def __init__(self, store: LogStore, signer: Signer, witnesses: Sequence[Cosigner]) -> None:
        self.store = store
        self.signer = signer
        self.witnesses = list(witnesses)
        self._checkpoint_lock = threading.Lock()

    @property
    def origin(self) -> str:
        """The checkpoint origin (the operator key's name)."""
        return self.signer.name

    def verifier_keys(self) -> list[str]:
        """The operator's key, then each witness's."""
        return [str(self.signer.verifier), *(str(w.key) for w in self.witnesses)]

    def append(self, entries: Sequence[dict[str, Any]]) -> int:
        """Validate and append ``entries``; return the index of the first."""
        if not entries:
            raise EntryError("no entries given")
        return self.store.append([canonical_json(validate_entry(e)) for e in entries])

    def checkpoint(self) -> str:
        """The latest checkpoint if it covers the whole log, else a new one that the operator
        signed and every witness cosigned."""
        with self._checkpoint_lock:
            size = self.store.size
            latest = self.store.latest_checkpoint()
            if latest is not None and Checkpoint.parse(parse_note(latest)[0]).size == size:
                return latest
            text = Checkpoint(self.origin, size, self.store.tree.root(size)).text()
            note = sign_note(text, self.signer)
            lines = "".join(self._cosign(w, size, text, note) for w in self.witnesses)
            cosigned = note + lines
            self.store.save_checkpoint(size, cosigned)
            return cosigned

    def receipt(self, index: int) -> dict[str, Any]:
        """A receipt for entry ``index`` against the latest checkpoint (a new one if the latest
        does not cover it yet)."""
        if not 0 <= index < self.store.size:
            raise IndexError(f"no entry {index}; the log has {self.store.size}")
        note = self.store.latest_checkpoint()
        if note is None or _size(note) <= index:
            note = self.checkpoint()
        size = _size(note)
        entry = json.loads(self.store.entries(index, index + 1)[0])
        proof = self.store.tree.inclusion_proof(index, size)
        return make_receipt(entry, index, size, proof, note, self.verifier_keys())

    def _cosign(self, witness: Cosigner, size: int, text: str, note: str) -> str:
        """The witness's signature line over ``text``, checked before the log keeps it."""
        old = self.store.witness_size(witness.name)
        for _ in range(2):
            try:
                line = witness.add_checkpoint(
                    old, self.store.tree.consistency_proof(old, size), note
                )
            except WitnessRefusal as refusal:
                # 409: the witness knows a later size than we remembered; retry from it.
                if refusal.status == 409 and refusal.size is not None and refusal.size <= size:
                    old = refusal.size
                    continue
                raise WitnessFailure(f"witness {witness.name} refused: {refusal}") from None
            except OSError as err:
                raise WitnessFailure(f"witness {witness.name} unreachable: {err}") from None
            try:
                signature = parse_signature_line(line.rstrip("\n"))
            except NoteError:
                signature = None
            if not (
                signature is not None
                and signature.by(witness.key)
                and witness.key.verify(text.encode(), signature.signature)
            ):
                raise WitnessFailure(f"witness {witness.name} answered with no valid signature")
            self.store.set_witness_size(witness.name, size)
            return signature.line()
        raise WitnessFailure(f"witness {witness.name} keeps reporting another size")


def routes(ledger: LedgerLog, token: str | None = None) -> dict[tuple[str, str], Any]:
    """The log's HTTP routes; appending needs ``token`` when one is given."""
    store = ledger.store

    def health(request: Request) -> Response:
        return Response.json({"origin": ledger.origin, "tree_size": store.size})

    def append(request: Request) -> Response:
        if token is not None and not hmac.compare_digest(
            request.authorization.encode(), f"Bearer {token}".encode()
        ):
            raise HTTPFailure(401, "unauthorized", "appending needs the log's bearer token")
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("entries"), list):
            raise HTTPFailure(400, "bad_request", 'the body is {"entries": [...]}')
        try:
            first = ledger.append(body["entries"])
        except EntryError as err:
            raise HTTPFailure(400, "bad_entry", str(err)) from None
        return Response.json({"first_index": first, "tree_size": store.size}, 201)

    def entries(request: Request) -> Response:
        start, end = request.int_arg("start"), request.int_arg("end")
        if not start <= end <= store.size or end - start > MAX_ENTRIES_PER_READ:
            raise HTTPFailure(
                400,
                "bad_range",
                f"need start <= end <= {store.size}, at most {MAX_ENTRIES_PER_READ} entries",
            )
        return Response.json({"entries": [json.loads(e) for e in store.entries(start, end)]})

    def make_checkpoint(request: Request) -> Response:
        try:
            note = ledger.checkpoint()
        except WitnessFailure as err:
            raise HTTPFailure(502, "witness_refused", str(err)) from None
        return Response.json({"checkpoint": note, "tree_size": _size(note)})

    def latest_checkpoint(request: Request) -> Response:
        note = store.latest_checkpoint()
        if note is None:
            raise HTTPFailure(404, "not_found", "no checkpoint yet")
        return Response.json({"checkpoint": note, "tree_size": _size(note)})

    def inclusion(request: Request) -> Response:
        index, size = request.int_arg("index"), request.int_arg("size")
        if not index < size <= store.size:
            raise HTTPFailure(400, "bad_range", f"need index < size <= {store.size}")
        proof = store.tree.inclusion_proof(index, size)
        return Response.json(
            {"leaf_index": index, "tree_size": size, "inclusion_proof": _b64(proof)}
        )

    def consistency(request: Request) -> Response:
        old, new = request.int_arg("old"), request.int_arg("new")
        if not old <= new <= store.size:
            raise HTTPFailure(400, "bad_range", f"need old <= new <= {store.size}")
        proof = store.tree.consistency_proof(old, new)
        return Response.json({"old_size": old, "new_size": new, "consistency_proof": _b64(proof)})

    def receipt(request: Request) -> Response:
        body = request.json()
        index = body.get("index") if isinstance(body, dict) else None
        if not isinstance(index, int) or not 0 <= index < store.size:
            raise HTTPFailure(400, "bad_range", f'the body is {{"index": n}}, n < {store.size}')
        try:
            return Response.json(ledger.receipt(index))
        except WitnessFailure as err:
            raise HTTPFailure(502, "witness_refused", str(err)) from None

    def keys(request: Request) -> Response:
        return Response.json({"verifier_keys": ledger.verifier_keys()})

    return {
        ("GET", "/health"): health,
        ("POST", "/entries"): append,
        ("GET", "/entries"): entries,
        ("POST", "/checkpoint"): make_checkpoint,
        ("GET", "/checkpoint"): latest_checkpoint,
        ("GET", "/proof/inclusion"): inclusion,
        ("GET", "/proof/consistency"): consistency,
        ("POST", "/receipt"): receipt,
        ("GET", "/keys"): keys,
    }


def _size(note: str) -> int:
    return Checkpoint.parse(parse_note(note)[0]).size


def main(argv: list[str] | None = None) -> None:
    """``python -m jupyter_wp5.ledger.log``."""
    from .client import RemoteWitness

    parser = argparse.ArgumentParser(
        prog="python -m jupyter_wp5.ledger.log",
        description="Run the ledger's append-only log (SQLite, HTTP on loopback).",
    )
    parser.add_argument("--origin", required=True, help="checkpoint origin = operator key name")
    parser.add_argument("--key", type=Path, required=True, help="signer key file (made if absent)")
    parser.add_argument("--db", type=Path, required=True, help="the SQLite file")
    parser.add_argument(
        "--witness", action="append", default=[], help="a witness's URL (repeat for each)"
    )
    parser.add_argument(
        "--token-file", type=Path, help="file holding the bearer token that appending needs"
    )
    add_server_args(parser)
    args = parser.parse_args(argv)
    signer = load_or_create_signer(args.key, args.origin)
    witnesses = [RemoteWitness(url) for url in args.witness]
    ledger = LedgerLog(LogStore(args.db), signer, witnesses)
    token = args.token_file.read_text().strip() if args.token_file else None
    serve(routes(ledger, token), args.host, args.port, f"ledger log {signer.verifier}")


if __name__ == "__main__":
    main()
