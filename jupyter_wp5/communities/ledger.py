"""Report access events to the access ledger, when the server is configured with one."""

from __future__ import annotations

import contextlib
from typing import Any

from traitlets import Float, List, Unicode
from traitlets.config import LoggingConfigurable

from ..executor import BlockingExecutor
from ..models import EngineRefused, EngineUnavailable, NotFound


class AccessLedger(LoggingConfigurable):
    """Appends access events to the ledger's log process (docs/ledger.md).

    Off unless both ``url`` and ``token_file`` are set. The token is read from its file (so it is
    in no configuration, which Jupyter logs at debug level) and stays in this process: it is
    never logged, returned or passed to kernels or other children.
    """

    url = Unicode("", config=True, help="The ledger log's URL, e.g. http://127.0.0.1:8765.")
    token_file = Unicode(
        "",
        config=True,
        help="File (mode 0600) holding the bearer token the log needs for appending.",
    )
    timeout = Float(10.0, config=True, help="Seconds one append may take.")
    trusted_keys = List(
        Unicode(),
        config=True,
        help="Verifier keys (name+hash+base64) that the latest checkpoint must verify against: "
        "the log operator's and each witness's. Empty: the keys the log publishes, which shows "
        "only that the log agrees with itself.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._executor = BlockingExecutor("ledger", 1, self.timeout)
        self._client: Any = None

    @property
    def enabled(self) -> bool:
        """Whether events are recorded."""
        return bool(self.url and self.token_file)

    async def record(self, event: str, **fields: Any) -> int | None:
        """Append one entry; its leaf index, or None when off or the log failed (logged: the
        event itself has happened in Rucio and stands)."""
        if not self.enabled:
            return None
        from ..ledger import make_entry

        try:
            client = await self._ledger_client()
            return await self._executor.run(client.append, make_entry(event, **fields))
        except Exception as err:
            # Whatever failed (the log, the network, a field), the event stands: say so.
            self.log.error(
                "could not append a %s event to the ledger at %s: %s", event, self.url, err
            )
            return None

    async def checkpoint(self) -> dict[str, Any]:
        """The log's latest cosigned checkpoint (None before the first) and its verifier keys."""
        client = await self._ledger_client()
        note = await self._read(client.latest_checkpoint)
        published = await self._read(client.verifier_keys)
        if self.trusted_keys:
            keys, source = list(self.trusted_keys), "configured"
        else:
            keys, source = published, "published"
        return {
            "checkpoint": note,
            "verifier_keys": published,
            "verification": check_checkpoint(note, keys, source),
        }

    async def receipt(self, index: int) -> dict[str, Any]:
        """The receipt of entry ``index`` (checkpointed and cosigned first when needed)."""
        client = await self._ledger_client()
        # The index is all we send: a refusal of it means the log has no such entry.
        return await self._read(client.receipt, index, missing=f"no entry {index}")

    async def _ledger_client(self) -> Any:
        if not self.enabled:
            # Not configured is no outage: there is no ledger here to wait for.
            raise NotFound("this server reports to no access ledger (set AccessLedger.url)")
        if self._client is None:
            from ..ledger import LedgerClient

            token = await self._executor.run(_read_token, self.token_file)
            self._client = LedgerClient(self.url, timeout=self.timeout, token=token)
        return self._client

    async def _read(self, call: Any, *args: Any, missing: str | None = None) -> Any:
        from ..ledger import LedgerHTTPError

        try:
            return await self._executor.run(call, *args)
        except LedgerHTTPError as err:
            if missing and err.status in (400, 404):
                raise NotFound(f"the access ledger has {missing}: {err.message}") from None
            raise EngineRefused(f"the access ledger refused: {err.message}") from None
        except OSError as err:
            raise EngineUnavailable(
                f"the access ledger at {self.url} did not answer: {err}"
            ) from None

    def close(self) -> None:
        """Stop the executor."""
        self._executor.shutdown()


def check_checkpoint(note: str | None, keys: list[str], source: str) -> dict[str, Any]:
    """Whether ``note`` counts (the operator's and every witness's signature verify against
    ``keys``), its tree size and signers, and why not when it does not; ``source`` says where the
    keys came from (``configured`` or ``published``)."""
    from ..ledger import ReceiptError, verify_checkpoint
    from ..ledger.note import Checkpoint, NoteError, parse_note

    result: dict[str, Any] = {
        "verified": False,
        "tree_size": None,
        "operator": None,
        "witnesses": [],
        "keys": source,
        "reason": None,
    }
    if note is None:
        result["reason"] = "the ledger has no checkpoint yet"
        return result
    try:
        checkpoint, operator, witnesses = verify_checkpoint(note, keys)
    except ReceiptError as err:
        result["reason"] = str(err)
        # A malformed note has no size to name; the reason says what is wrong.
        with contextlib.suppress(NoteError):
            result["tree_size"] = Checkpoint.parse(parse_note(note)[0]).size
        return result
    result.update(verified=True, tree_size=checkpoint.size, operator=operator, witnesses=witnesses)
    return result


def _read_token(path: str) -> str:
    with open(path) as fh:
        return fh.read().strip()
