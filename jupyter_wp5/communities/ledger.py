"""Report access events to the access ledger, when the server is configured with one."""

from __future__ import annotations

from typing import Any

from traitlets import Float, Unicode
from traitlets.config import LoggingConfigurable

from ..executor import BlockingExecutor


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
        from ..ledger import LedgerClient, make_entry

        try:
            if self._client is None:
                token = await self._executor.run(_read_token, self.token_file)
                self._client = LedgerClient(self.url, timeout=self.timeout, token=token)
            return await self._executor.run(self._client.append, make_entry(event, **fields))
        except Exception as err:
            # Whatever failed (the log, the network, a field), the event stands: say so.
            self.log.error(
                "could not append a %s event to the ledger at %s: %s", event, self.url, err
            )
            return None

    def close(self) -> None:
        """Stop the executor."""
        self._executor.shutdown()


def _read_token(path: str) -> str:
    with open(path) as fh:
        return fh.read().strip()
