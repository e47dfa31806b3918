"""Report access events to the access ledger, when the server is configured with one."""

from __future__ import annotations

from typing import Any

from traitlets import Float, Unicode
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
        return {"checkpoint": note, "verifier_keys": await self._read(client.verifier_keys)}

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


def _read_token(path: str) -> str:
    with open(path) as fh:
        return fh.read().strip()
