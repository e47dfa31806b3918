"""Server-side paging: each user's open listings, so that page *n* costs O(page), not O(offset).

A listing is one user's walk through one query's results (a search, a dataset's files). It holds
the open Rucio stream and the rows read from it so far; the next page reads on from where the last
one stopped instead of running the query again and skipping ``offset`` rows. A first page (no
cursor) always runs the query again: a new search shows what Rucio holds now. Listings expire after
``ttl`` seconds unused and the least recently used are dropped once ``max_rows`` rows are held in
all; a cursor into a dropped listing is re-run transparently (once, from Rucio) and walking goes on.

Cursors are opaque tokens: ``{store, query digest, offset}`` with an HMAC over those and the user
under a key made when the server starts. A cursor that another user got, that belongs to another
query, that was forged, or that is out of range, is refused (400) before anything reaches Rucio.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from traitlets import Float, Int
from traitlets.config import LoggingConfigurable

from ..models import InvalidRequest

# No listing Rucio hands out comes near this; larger offsets are forged or corrupted.
MAX_OFFSET = 2**31 - 1
# Tokens we hand out are about 120 characters (openapi.yaml allows 200); longer is not decoded.
_MAX_TOKEN = 200

_FOREIGN = (
    "cursor is not one this server handed out to you; pass back the next_cursor of your last page"
)


@dataclass
class _Listing:
    """One user's position in one query: rows from ``base`` on, and the stream after them."""

    base: int
    rows: list[Any]
    source: Iterator[Any] | None
    used: float
    # Re-entrant: a reader closes its own listing on error while holding it.
    lock: threading.RLock = field(default_factory=threading.RLock)

    def close(self) -> None:
        """Close the stream (waiting for a reader using it), keeping the rows read."""
        with self.lock:
            source, self.source = self.source, None
            if source is not None:
                _close(source)


class CursorStore(LoggingConfigurable):
    """Open listings per (user, query) and the cursors that point into them."""

    ttl = Float(
        300.0,
        config=True,
        help="Seconds an unused listing keeps its Rucio stream and rows; a cursor into an "
        "expired listing is re-run from Rucio transparently.",
    )
    max_rows = Int(
        500_000,
        config=True,
        help="Rows kept over all listings; beyond it the least recently used are dropped.",
    )
    read_ahead = Int(
        1000,
        config=True,
        help="Rows (at least one page) read past the page asked for once a user pages on "
        "(second page on); the next pages then come from memory (see held()) without a trip "
        "to the executor. A read of 1,000-row pages then costs two pages.",
    )
    max_listings = Int(
        256,
        config=True,
        help="Listings (each may hold an open Rucio stream) kept at once over all users.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key = secrets.token_bytes(32)
        self._id = secrets.token_hex(4)
        self._listings: OrderedDict[tuple[str, str], _Listing] = OrderedDict()
        self._guard = threading.Lock()

    # -- tokens ------------------------------------------------------------------------------

    def cursor(self, user: str, query: str, offset: int) -> str:
        """The opaque token for ``offset`` in ``user``'s walk through ``query``."""
        digest = _digest(query)
        payload = {"s": self._id, "q": digest, "o": offset, "m": self._mac(user, digest, offset)}
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    def offset(self, token: str | None, user: str, query: str) -> int:
        """The offset a token points at; :class:`InvalidRequest` for any token not handed out
        to ``user`` for ``query`` by this server."""
        if not token:
            return 0
        if len(token) > _MAX_TOKEN:
            raise InvalidRequest(_FOREIGN)
        try:
            payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        except (ValueError, binascii.Error):
            raise InvalidRequest(_FOREIGN) from None
        if not isinstance(payload, dict) or not all(
            isinstance(payload.get(k), str) for k in ("s", "q", "m")
        ):
            raise InvalidRequest(_FOREIGN)
        offset = payload.get("o")
        if type(offset) is not int or not 0 <= offset <= MAX_OFFSET:
            raise InvalidRequest(f"cursor offset is out of range (0 to {MAX_OFFSET})")
        if payload["s"] != self._id:
            raise InvalidRequest(
                "cursor is from an earlier run of the server (or another server); "
                "start again from the first page"
            )
        if not hmac.compare_digest(payload["m"], self._mac(user, payload["q"], offset)):
            raise InvalidRequest(_FOREIGN)
        if payload["q"] != _digest(query):
            raise InvalidRequest(
                "cursor belongs to another query; a cursor only pages the query it came from"
            )
        return offset

    def _mac(self, user: str, digest: str, offset: int) -> str:
        message = json.dumps([self._id, user, digest, offset]).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    # -- rows --------------------------------------------------------------------------------

    def page(
        self,
        user: str,
        query: str,
        open_stream: Callable[[], Iterable[Any]],
        offset: int,
        count: int,
    ) -> list[Any]:
        """Rows ``offset`` to ``offset + count`` of ``user``'s listing of ``query``.

        Blocking (it reads Rucio's stream): call it in an executor thread. ``open_stream`` runs
        the query when there is no open listing to read on from (first page, expired, dropped).
        """
        self.sweep()
        key = (user, query)
        listing = self._claim(key, offset)
        with listing.lock:
            try:
                if listing.base < 0:
                    stream = iter(open_stream())
                    # Re-running after expiry: skip to the offset once, then walk on cheaply.
                    listing.rows = list(itertools.islice(stream, offset, offset + count))
                    listing.base = offset
                    listing.source = stream if len(listing.rows) == count else None
                    if listing.source is None:
                        _close(stream)
                want = offset - listing.base + count
                if offset > 0:
                    want += max(self.read_ahead, count - 1)
                if listing.source is not None and len(listing.rows) < want:
                    more = list(itertools.islice(listing.source, want - len(listing.rows)))
                    listing.rows.extend(more)
                    if len(listing.rows) < want:
                        listing.close()
                start = offset - listing.base
                rows = listing.rows[start : start + count]
            except BaseException:
                listing.close()
                self._drop(key, listing)
                raise
            listing.used = time.monotonic()
        self._trim(key, offset)
        return rows

    def held(self, user: str, query: str, offset: int, count: int) -> list[Any] | None:
        """Rows ``offset`` to ``offset + count`` when ``user``'s listing of ``query`` holds
        them already (read ahead by an earlier page), else ``None``: then call :meth:`page`.
        Never for a first page (it runs the query again). Never waits for a reader (safe on
        the event loop)."""
        if offset == 0:
            return None
        with self._guard:
            listing = self._listings.get((user, query))
        if listing is None or not listing.lock.acquire(blocking=False):
            return None
        try:
            start = offset - listing.base
            complete = listing.source is None or start + count <= len(listing.rows)
            if listing.base < 0 or start < 0 or not complete:
                return None
            rows = listing.rows[start : start + count]
            listing.used = time.monotonic()
        finally:
            listing.lock.release()
        with self._guard:
            if (user, query) in self._listings:
                self._listings.move_to_end((user, query))
        return rows

    def _claim(self, key: tuple[str, str], offset: int) -> _Listing:
        """The listing to read ``offset`` from: the open one, or a fresh one to run the query."""
        stale = None
        with self._guard:
            listing = self._listings.get(key)
            # A first page is a new search; rows before ``base`` were dropped to save memory:
            # either way, run the query again.
            if listing is not None and (offset == 0 or offset < listing.base):
                stale, listing = listing, None
            if listing is None:
                listing = _Listing(base=-1, rows=[], source=None, used=0.0)
                self._listings[key] = listing
            listing.used = time.monotonic()
            self._listings.move_to_end(key)
        if stale is not None:
            stale.close()
        return listing

    def _drop(self, key: tuple[str, str], listing: _Listing) -> None:
        with self._guard:
            if self._listings.get(key) is listing:
                del self._listings[key]

    def _trim(self, key: tuple[str, str], offset: int) -> None:
        """Keep within ``max_rows`` and ``max_listings``: drop the least recently used listings,
        then the rows before ``offset`` of the current one."""
        dropped = []
        with self._guard:
            total = sum(len(item.rows) for item in self._listings.values())
            for other in list(self._listings):
                if other == key:
                    continue
                if total <= self.max_rows and len(self._listings) <= self.max_listings:
                    break
                victim = self._listings.pop(other)
                total -= len(victim.rows)
                dropped.append(victim)
            current = self._listings.get(key)
        for victim in dropped:
            victim.close()
        if current is not None and total > self.max_rows:
            with current.lock:
                if current.base >= 0 and offset > current.base:
                    del current.rows[: offset - current.base]
                    current.base = offset

    def sweep(self) -> None:
        """Close the listings unused for ``ttl`` seconds."""
        cutoff = time.monotonic() - self.ttl
        with self._guard:
            expired = [k for k, item in self._listings.items() if item.used < cutoff]
            victims = [self._listings.pop(k) for k in expired]
        for victim in victims:
            victim.close()

    def open_listings(self) -> int:
        """How many listings are held now."""
        with self._guard:
            return len(self._listings)

    def close(self) -> None:
        """Close every listing's stream."""
        with self._guard:
            victims = list(self._listings.values())
            self._listings.clear()
        for victim in victims:
            victim.close()


def _digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def _close(stream: Iterable[Any]) -> None:
    close = getattr(stream, "close", None)
    if close:
        close()
