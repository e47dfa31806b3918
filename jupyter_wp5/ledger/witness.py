"""A witness: cosigns a log's checkpoints only when they extend the last one it cosigned.

Run one per party (``python -m jupyter_wp5.ledger.witness --help``). The witness keeps its own
Ed25519 key (made on first start, mode 0600) and, in its own state file, the last checkpoint it
cosigned. Asked to cosign a new checkpoint, it checks the log operator's signature, then a
consistency proof from its last checkpoint to the new one, and only then adds its signature: a
plain Ed25519 signed-note signature (algorithm byte 0x01) over the checkpoint text, not the
timestamped C2SP tlog-cosignature (0x04), so every signature on a checkpoint is of one kind.

The HTTP exchange follows C2SP tlog-witness ``POST /add-checkpoint``: the body is ``old <size>``,
the base64 consistency proof lines, a blank line and the signed checkpoint; the answer is the
witness's signature line. 404: unknown log; 403: no valid operator signature; 409: ``old`` is not
the size the witness last cosigned (the body is that size, ``text/x.tlog.size``); 422: the
consistency proof fails (a fork or a rewritten history); 400: a malformed request.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any

from ._http import HTTPFailure, Request, Response, add_server_args, serve
from .merkle import EMPTY_ROOT, ProofError, verify_consistency
from .note import Checkpoint, NoteError, Signer, VerifierKey, load_or_create_signer, parse_note
from .protocol import WitnessRefusal, decode_add_checkpoint

__all__ = ["Witness", "main"]


class Witness:
    """The cosigning rule of one witness for one log, with its state in a JSON file."""

    def __init__(self, signer: Signer, log_key: VerifierKey, state_path: Path) -> None:
        self.signer = signer
        self.log_key = log_key
        self.state_path = state_path
        self._lock = threading.Lock()
        try:
            self._state: dict[str, Any] = json.loads(state_path.read_text())
        except FileNotFoundError:
            self._state = {"origin": log_key.name, "size": 0, "checkpoint": None}
        if self._state.get("origin") != log_key.name:
            raise ValueError(f"{state_path} belongs to the log {self._state.get('origin')!r}")

    @property
    def name(self) -> str:
        """The witness key's name."""
        return self.signer.name

    @property
    def key(self) -> VerifierKey:
        """The witness's verifier key."""
        return self.signer.verifier

    @property
    def size(self) -> int:
        """Size of the last checkpoint cosigned."""
        return int(self._state["size"])

    @property
    def last_checkpoint(self) -> str | None:
        """The last checkpoint cosigned, as the operator signed it."""
        return self._state["checkpoint"]

    def add_checkpoint(self, old_size: int, proof: list[bytes], note: str) -> str:
        """Cosign ``note`` if it extends the last checkpoint; return the signature line."""
        try:
            text, signatures = parse_note(note)
            checkpoint = Checkpoint.parse(text)
        except NoteError as err:
            raise WitnessRefusal(400, f"malformed checkpoint: {err}") from None
        if checkpoint.origin != self.log_key.name:
            raise WitnessRefusal(404, f"unknown log {checkpoint.origin!r}")
        if not any(
            s.by(self.log_key) and self.log_key.verify(text.encode(), s.signature)
            for s in signatures
        ):
            raise WitnessRefusal(403, f"no valid signature by the log's key {self.log_key.name}")
        with self._lock:
            if old_size != self.size:
                raise WitnessRefusal(
                    409,
                    f"old size {old_size} is not {self.size}, the last size cosigned",
                    self.size,
                )
            if checkpoint.size < old_size:
                raise WitnessRefusal(400, f"size {checkpoint.size} is smaller than {old_size}")
            old_root = self._old_root()
            try:
                verify_consistency(old_size, checkpoint.size, old_root, checkpoint.root_hash, proof)
            except ProofError as err:
                raise WitnessRefusal(
                    422,
                    f"checkpoint of size {checkpoint.size} does not extend the checkpoint of size "
                    f"{old_size} this witness cosigned: {err}",
                ) from None
            self._save({"origin": checkpoint.origin, "size": checkpoint.size, "checkpoint": note})
            return self.signer.signature_line(text)

    def _old_root(self) -> bytes:
        if self.last_checkpoint is None:
            return EMPTY_ROOT
        return Checkpoint.parse(parse_note(self.last_checkpoint)[0]).root_hash

    def _save(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self.state_path)
        self._state = state


def routes(witness: Witness) -> dict[tuple[str, str], Any]:
    """The witness's HTTP routes."""

    def add_checkpoint(request: Request) -> Response:
        try:
            old, proof, note = decode_add_checkpoint(request.body.decode("utf-8", "replace"))
            return Response.text(witness.add_checkpoint(old, proof, note))
        except WitnessRefusal as refusal:
            if refusal.status == 409:
                return Response.text(f"{refusal.size}\n", 409, "text/x.tlog.size")
            raise HTTPFailure(
                refusal.status, "refused", str(refusal), text=f"{refusal}\n"
            ) from None

    def key(request: Request) -> Response:
        return Response.text(f"{witness.key}\n")

    def checkpoint(request: Request) -> Response:
        if witness.last_checkpoint is None:
            raise HTTPFailure(404, "not_found", "no checkpoint cosigned yet")
        return Response.text(witness.last_checkpoint)

    return {
        ("POST", "/add-checkpoint"): add_checkpoint,
        ("GET", "/key"): key,
        ("GET", "/checkpoint"): checkpoint,
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m jupyter_wp5.ledger.witness``."""
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_wp5.ledger.witness",
        description="Run a witness that cosigns a ledger's checkpoints after checking that each "
        "extends the last one it cosigned.",
    )
    parser.add_argument("--name", required=True, help="the witness key's name (no '+' or space)")
    parser.add_argument("--key", type=Path, required=True, help="signer key file (made if absent)")
    parser.add_argument("--state", type=Path, required=True, help="the witness's state file")
    parser.add_argument("--log-key", required=True, help="the log's verifier key name+hash+base64")
    add_server_args(parser)
    args = parser.parse_args(argv)
    signer = load_or_create_signer(args.key, args.name)
    witness = Witness(signer, VerifierKey.parse(args.log_key), args.state)
    serve(routes(witness), args.host, args.port, f"witness {signer.verifier}")


if __name__ == "__main__":
    main()
