"""One connection to a Rucio instance, shared by the catalogue and the replica services.

It owns the rucio-clients ``Client`` objects (one per executor thread), the bounded executor every
call runs in, and the single translation of Rucio's exceptions into user-facing errors.
"""

from __future__ import annotations

import configparser
import contextlib
import functools
import getpass
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from traitlets import Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from ..executor import BlockingExecutor
from ..models import (
    Conflict,
    EngineRefused,
    EngineUnavailable,
    Forbidden,
    InvalidRequest,
    NotFound,
    Wp5Error,
)

T = TypeVar("T")

# The credential keys rucio-clients expects in ``creds`` for each authentication type.
_CREDENTIAL_KEYS = {
    "userpass": ("username", "password"),
    "x509": ("client_cert", "client_key"),
    "x509_proxy": ("client_proxy",),
}


def translate_rucio_error(exc: BaseException, host: str | None) -> Wp5Error:
    """Map an exception raised by rucio-clients (or requests under it) to a user-facing error."""
    from requests import exceptions as http
    from rucio.common import exception as rucio

    where = f" at {host}" if host else ""
    if isinstance(exc, Wp5Error):
        return exc
    if isinstance(exc, rucio.DataIdentifierNotFound | rucio.ScopeNotFound):
        return NotFound(f"not found in Rucio ({_first_line(exc)})")
    if isinstance(exc, rucio.RSENotFound):
        return NotFound(f"Rucio has no such storage element: {_first_line(exc)}")
    if isinstance(exc, rucio.RuleNotFound):
        return NotFound(f"no such replication rule in Rucio ({_first_line(exc)})")
    if isinstance(exc, rucio.InvalidObject | rucio.InvalidRSEExpression):
        return InvalidRequest(f"Rucio rejected the request: {_first_line(exc)}")
    if isinstance(exc, rucio.InsufficientAccountLimit):
        return Conflict(f"not enough quota: {_first_line(exc)}")
    if isinstance(exc, rucio.DuplicateRule):
        return Conflict(f"you already have this rule: {_first_line(exc)}")
    if isinstance(exc, rucio.InsufficientTargetRSEs):
        return Conflict(f"not enough storage elements to place the copies: {_first_line(exc)}")
    if isinstance(exc, rucio.AccessDenied):
        # The reason (a policy's message, e.g. the missing access grant) is in the details.
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], str) else _first_line(exc)
        return Forbidden(f"Rucio does not allow this: {reason}")
    if isinstance(exc, rucio.CannotAuthenticate):
        return EngineRefused(f"Rucio{where} refused the credentials: {_first_line(exc)}")
    if isinstance(exc, rucio.ConfigNotFound):
        return EngineUnavailable(
            "Rucio is not configured: no rucio.cfg found "
            "(set c.RucioConnection.rucio_config or $RUCIO_CONFIG)"
        )
    if isinstance(exc, rucio.MissingClientParameter):
        return EngineUnavailable(f"Rucio is not configured: {_first_line(exc)}")
    if isinstance(exc, http.ReadTimeout):
        # rucio-clients' own deadline can fire before the executor's: one meaning, one message.
        return EngineUnavailable(f"Rucio{where} did not answer in time ({type(exc).__name__})")
    if isinstance(exc, http.ConnectionError | rucio.ServerConnectionException):
        return EngineUnavailable(f"Rucio{where} is unreachable ({type(exc).__name__})")
    if isinstance(exc, rucio.RucioException):
        return EngineRefused(f"Rucio{where} answered with an error: {_first_line(exc)}")
    return Wp5Error(f"Unexpected error talking to Rucio: {type(exc).__name__}: {exc}")


def state_name(raw: Any) -> str:
    """A Rucio state (an enum such as ``RuleState.OK``, or its name) as its upper-case name,
    the value of our matching state enum."""
    return str(raw).upper().rsplit(".", 1)[-1]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    # RucioException prefixes its messages with a generic sentence; the details follow it.
    text = text.replace("An unknown exception occurred.", "").replace("Details: ", "").strip()
    return text.splitlines()[0] if text else type(exc).__name__


@functools.cache
def _client_class() -> type:
    from rucio.client import Client

    class ScopedTokenClient(Client):
        """A rucio ``Client`` whose cached token lives where its connection says."""

        def __init__(self, *, token_file: str, **kwargs: Any) -> None:
            self._wp5_token_file = token_file
            super().__init__(**kwargs)

        def _get_auth_tokens(self) -> tuple[str | None, str, str, str]:
            # Same four values as rucio-clients' own: (configured path, expiry file, token file,
            # token directory); only the location differs.
            directory, name = os.path.split(self._wp5_token_file)
            expiry = os.path.join(directory, f"{name}.expiry")
            return None, expiry, self._wp5_token_file, directory

        @contextlib.contextmanager
        def dateless_rows(self) -> Iterator[None]:
            """Calls made inside read streamed rows as plain JSON: for listings whose rows hold
            no dates (``list_dids``), where rucio-clients' date lookup (a regex on every
            string of every row) was the largest cost per row of a search."""
            self._wp5_dateless = True
            try:
                yield
            finally:
                self._wp5_dateless = False

        def _load_json_data(self, response: Any) -> Iterator[Any]:
            # Decided when the call is made (inside dateless_rows), read as the caller walks.
            stream = response.headers.get("content-type") == "application/x-json-stream"
            if stream and getattr(self, "_wp5_dateless", False):
                return (json.loads(line) for line in response.iter_lines() if line)
            return super()._load_json_data(response)

    return ScopedTokenClient


class RucioConnection(LoggingConfigurable):
    """Talk to one Rucio instance through rucio-clients, off the event loop."""

    rucio_config = Unicode(
        config=True,
        help="Path of the rucio.cfg to use (host, auth type, account, credentials). "
        "Default: $RUCIO_CONFIG, else rucio-clients' own lookup.",
    )
    account = Unicode(
        "", config=True, help="Rucio account to act as; empty means the one in rucio.cfg."
    )
    timeout = Float(30.0, config=True, help="Seconds a single Rucio call may take.")
    max_workers = Int(4, config=True, help="Threads that may talk to Rucio at the same time.")
    probe_timeout = Float(
        5.0,
        config=True,
        help="Seconds the health probe may take. It has a thread of its own, so it answers "
        "while searches fill the other threads.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.rucio_config:
            self.rucio_config = os.environ.get("RUCIO_CONFIG", "")
        self._settings = self._read_client_section()
        self._executor = BlockingExecutor("Rucio", self.max_workers, self.timeout)
        # Health's own lane: never queued behind the catalogue's calls.
        self._probe_executor = BlockingExecutor("Rucio", 1, self.probe_timeout)
        self._local = threading.local()
        self._calls = 0
        self._calls_lock = threading.Lock()

    @property
    def calls(self) -> int:
        """How many Rucio calls this connection has made (each ``run``, ``probe`` or ``call``)."""
        return self._calls

    @property
    def host(self) -> str | None:
        """The Rucio server, as rucio.cfg names it."""
        return self._settings.get("rucio_host")

    def _read_client_section(self) -> dict[str, str]:
        # Read our own file rather than rucio's process-wide cached configuration, so that two
        # connections (or a test's admin client) in one process never share credentials.
        if not self.rucio_config:
            return {}
        parser = configparser.ConfigParser()
        parser.read(self.rucio_config)
        return dict(parser["client"]) if parser.has_section("client") else {}

    def token_file(self) -> str:
        """Where this connection's Rucio token is cached.

        rucio-clients takes the token file from its process-wide configuration, or else one file
        per account name; either way, clients for different accounts, files or servers in one
        process could pick up each other's token (an admin token read by a user's client, say).
        Each connection gets its own: rucio.cfg's ``auth_token_file_path`` in *its* file, or one
        file per server, account and auth type in rucio-clients' token directory.
        """
        if self._settings.get("auth_token_file_path"):
            return os.path.expanduser(self._settings["auth_token_file_path"])
        from rucio.client.baseclient import BaseClient

        args = self.client_args()
        key = "|".join(str(args.get(k, "")) for k in ("rucio_host", "account", "auth_type", "vo"))
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        directory = BaseClient.TOKEN_PATH_PREFIX + getpass.getuser()
        return os.path.join(directory, f"wp5_token_{args.get('account', 'default')}_{digest}")

    def new_client(self, timeout: float | None = None) -> Any:
        """A rucio-clients ``Client`` for this connection (blocking: call it in an executor);
        its HTTP calls give up after ``timeout`` seconds (default: :attr:`timeout`)."""
        if self.rucio_config and not self._settings:
            # Without our [client] section rucio-clients would fall back on the process-wide
            # configuration, which another connection (a download) may have loaded: refuse.
            raise EngineUnavailable(
                f"Rucio is not configured: {self.rucio_config} is missing or has no [client] "
                "section (set c.RucioConnection.rucio_config)"
            )
        args = self.client_args()
        if timeout is not None:
            args["timeout"] = max(1, int(timeout))
        return _client_class()(token_file=self.token_file(), **args)

    def client_args(self) -> dict[str, Any]:
        """Keyword arguments for ``rucio.client.Client`` from this connection's rucio.cfg."""
        s = self._settings
        args: dict[str, Any] = {"timeout": int(self.timeout)}
        for key in ("rucio_host", "auth_host", "auth_type", "ca_cert", "vo"):
            if s.get(key):
                args[key] = s[key]
        if self.account or s.get("account"):
            args["account"] = self.account or s["account"]
        keys = _CREDENTIAL_KEYS.get(s.get("auth_type", ""), ())
        creds = {k: s[k] for k in keys if s.get(k)}
        if creds:
            args["creds"] = creds
        return args

    def _client(self, timeout: float | None) -> Any:
        # requests sessions are not thread-safe: one rucio Client per executor thread (and each
        # thread belongs to one lane, so to one timeout).
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self.new_client(timeout)
        return client

    def call(self, fn: Callable[[Any], T], timeout: float | None = None) -> T:
        """Run ``fn(client)`` in this thread, for an executor of one's own (long downloads);
        Rucio's errors become :class:`Wp5Error`. ``timeout`` bounds each HTTP call of a client
        made for this thread (default: :attr:`timeout`)."""
        with self._calls_lock:
            self._calls += 1
        try:
            return fn(self._client(timeout))
        except Exception as exc:
            from requests import exceptions as http

            if isinstance(exc, http.RequestException):
                # A dead connection or token: start over with a fresh client next time.
                self._local.client = None
            raise translate_rucio_error(exc, self.host) from None

    async def run(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(client)`` in the bounded executor; Rucio's errors become :class:`Wp5Error`."""
        return await self._executor.run(self.call, fn)

    async def probe(self, fn: Callable[[Any], T]) -> T:
        """Run a short ``fn(client)`` (a health check) in a lane of its own, within
        :attr:`probe_timeout`, whatever the main executor is busy with."""
        # The client's own HTTP deadline comes a second later, so the user reads ours.
        return await self._probe_executor.run(self.call, fn, self.probe_timeout + 1)

    def close(self) -> None:
        """Stop the executors; pending calls are abandoned."""
        self._probe_executor.shutdown()
        self._executor.shutdown()
