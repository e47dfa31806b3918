"""HTTP clients of the ledger's processes: :class:`LedgerClient` (the log) and
:class:`RemoteWitness` (a witness, as the log calls it)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .note import VerifierKey
from .protocol import WitnessRefusal, encode_add_checkpoint

__all__ = ["LedgerClient", "LedgerHTTPError", "RemoteWitness"]


class LedgerHTTPError(RuntimeError):
    """The log answered with an error (``status``, and its ``{"error","message"}``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _call(
    method: str,
    url: str,
    body: bytes | None,
    content_type: str,
    timeout: float,
    token: str | None = None,
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", content_type)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class LedgerClient:
    """Talks to the log process at ``url`` (blocking; run it in an executor from async code).

    Parameters
    ----------
    url:
        The log's base URL, e.g. ``http://127.0.0.1:8765``.
    timeout:
        Seconds per request (a checkpoint waits for every witness).
    token:
        The log's bearer token, which appending needs (reading does not).
    """

    def __init__(self, url: str, timeout: float = 30.0, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._token = token

    def __repr__(self) -> str:
        return f"LedgerClient({self.url!r})"

    def _json(self, method: str, path: str, payload: Any = None) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        status, data = _call(
            method, self.url + path, body, "application/json", self.timeout, self._token
        )
        try:
            value = json.loads(data) if data else {}
        except ValueError:
            value = {"error": "bad_response", "message": data[:200].decode(errors="replace")}
        if status >= 400:
            raise LedgerHTTPError(status, value.get("error", "?"), value.get("message", ""))
        return value

    def append(self, entry: dict[str, Any]) -> int:
        """Append one entry; return its leaf index."""
        return self.append_many([entry])

    def append_many(self, entries: list[dict[str, Any]]) -> int:
        """Append entries in order, atomically; return the leaf index of the first."""
        return int(self._json("POST", "/entries", {"entries": entries})["first_index"])

    def entries(self, start: int, end: int) -> list[dict[str, Any]]:
        """Entries ``[start, end)`` as stored."""
        query = urllib.parse.urlencode({"start": start, "end": end})
        return self._json("GET", f"/entries?{query}")["entries"]

    def checkpoint(self) -> str:
        """A checkpoint of the whole log cosigned by the operator and every witness (made now
        if the latest one is older)."""
        return self._json("POST", "/checkpoint")["checkpoint"]

    def latest_checkpoint(self) -> str | None:
        """The latest cosigned checkpoint, or None if there is none yet."""
        try:
            return self._json("GET", "/checkpoint")["checkpoint"]
        except LedgerHTTPError as err:
            if err.status == 404:
                return None
            raise

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The inclusion proof of leaf ``index`` in the tree of ``size``."""
        query = urllib.parse.urlencode({"index": index, "size": size})
        value = self._json("GET", f"/proof/inclusion?{query}")
        return [base64.b64decode(h) for h in value["inclusion_proof"]]

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The consistency proof from the tree of ``old_size`` to the one of ``new_size``."""
        query = urllib.parse.urlencode({"old": old_size, "new": new_size})
        value = self._json("GET", f"/proof/consistency?{query}")
        return [base64.b64decode(h) for h in value["consistency_proof"]]

    def verifier_keys(self) -> list[str]:
        """The operator's and the witnesses' verifier keys."""
        return list(self._json("GET", "/keys")["verifier_keys"])

    def receipt(self, index: int) -> dict[str, Any]:
        """A receipt for the entry at ``index``, against a cosigned checkpoint that covers it."""
        return self._json("POST", "/receipt", {"index": index})

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append ``entry``, have it checkpointed and cosigned, and return its receipt."""
        return self.receipt(self.append(entry))


class RemoteWitness:
    """A witness process, as the log asks it to cosign (same interface as
    :class:`~jupyter_wp5.ledger.witness.Witness`)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        status, data = _call("GET", f"{self.url}/key", None, "", timeout)
        if status != 200:
            raise RuntimeError(f"witness {self.url} did not give its key ({status})")
        self.key = VerifierKey.parse(data.decode())
        self.name = self.key.name

    def add_checkpoint(self, old_size: int, proof: list[bytes], note: str) -> str:
        """Ask for the witness's signature line; :class:`WitnessRefusal` if it refuses."""
        body = encode_add_checkpoint(old_size, proof, note).encode()
        status, data = _call("POST", f"{self.url}/add-checkpoint", body, "text/plain", self.timeout)
        text = data.decode(errors="replace")
        if status == 200:
            return text
        size = int(text.strip()) if status == 409 and text.strip().isdigit() else None
        raise WitnessRefusal(status, text.strip() or f"HTTP {status}", size)
