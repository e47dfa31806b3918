"""The witness exchange of C2SP tlog-witness: the ``add-checkpoint`` request body and refusals.

Shared by the witness process, which decodes requests, and the log's client of it, which encodes
them; neither imports the other.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["WitnessRefusal", "decode_add_checkpoint", "encode_add_checkpoint"]


class WitnessRefusal(Exception):
    """The witness will not cosign; ``status`` is the tlog-witness HTTP status."""

    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.size = size


def encode_add_checkpoint(old_size: int, proof: list[bytes], note: str) -> str:
    """The body of a tlog-witness ``add-checkpoint`` request."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return "\n".join(lines) + "\n\n" + note


def decode_add_checkpoint(body: str) -> tuple[int, list[bytes], str]:
    """Inverse of :func:`encode_add_checkpoint` (:class:`WitnessRefusal` 400 if malformed)."""
    head, sep, note = body.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old ") or not lines[0][4:].isdigit():
        raise WitnessRefusal(400, "the body is 'old <size>', proof lines, a blank line, a note")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except (binascii.Error, ValueError):
        raise WitnessRefusal(400, "a consistency proof line is not base64") from None
    return int(lines[0][4:]), proof, note
