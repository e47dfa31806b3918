"""The cursor store: pages read on from an open listing; cursors are bound to a user and a query.

The listings here read from in-memory streams standing in for Rucio's (the store's contract is
"an iterable the query returns"); the same store against the real Rucio is in
tests/api/test_catalog_scale.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from jupyter_wp5.data.cursors import MAX_OFFSET, CursorStore
from jupyter_wp5.models import InvalidRequest


class Source:
    """A query's result stream that counts how often it was run and how many rows were read."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.runs = 0
        self.read = 0

    def __call__(self) -> Iterator[int]:
        self.runs += 1
        for i in range(self.n):
            self.read += 1
            yield i


def walk(store: CursorStore, source: Source, user: str, query: str, limit: int) -> list[int]:
    """Page through ``query`` the way the catalogue does: ``limit + 1`` rows to see if more."""
    seen: list[int] = []
    cursor = None
    while True:
        offset = store.offset(cursor, user, query)
        rows = store.page(user, query, source, offset, limit + 1)
        seen += rows[:limit]
        if len(rows) <= limit:
            return seen
        cursor = store.cursor(user, query, offset + limit)


def test_walking_every_page_runs_the_query_once_and_reads_each_row_once():
    store, source = CursorStore(), Source(1050)
    assert walk(store, source, "alice", "q", 100) == list(range(1050))
    assert source.runs == 1
    assert source.read == 1050


def test_pages_read_ahead_come_from_memory_and_the_walk_is_unchanged():
    store, source = CursorStore(), Source(1050)
    assert store.read_ahead == 1000
    seen: list[int] = []
    cursor, trips = None, 0
    while True:
        offset = store.offset(cursor, "alice", "q")
        rows = store.held("alice", "q", offset, 101)
        if rows is None:
            trips += 1
            rows = store.page("alice", "q", source, offset, 101)
        seen += rows[:100]
        if len(rows) <= 100:
            break
        cursor = store.cursor("alice", "q", offset + 100)
    assert seen == list(range(1050))
    assert (source.runs, source.read) == (1, 1050)
    # The first page, then the second, which reads 1,000 rows ahead: the rest from memory.
    assert trips == 2


def test_held_never_answers_from_rows_it_does_not_have_or_waits_for_a_reader():
    import threading

    store, source = CursorStore(), Source(1500)
    assert store.held("alice", "q", 0, 11) is None  # nothing read yet
    store.page("alice", "q", source, 0, 11)
    assert store.held("alice", "q", 0, 11) is None  # a first page always asks Rucio again
    assert store.held("alice", "q", 10, 11) is None  # beyond what the first page read
    store.page("alice", "q", source, 10, 11)  # pages on: reads 1,000 rows ahead
    assert store.held("alice", "q", 500, 11) == list(range(500, 511))
    assert store.held("alice", "q", 1015, 11) is None  # read up to row 1,021 only
    store.page("alice", "q", source, 1015, 11)  # reads to the end of the stream
    assert store.held("alice", "q", 1495, 11) == list(range(1495, 1500))
    assert store.held("bob", "q", 0, 11) is None
    listing = store._listings[("alice", "q")]
    reading, done = threading.Event(), threading.Event()

    def reader() -> None:
        with listing.lock:
            reading.set()
            done.wait(5)

    thread = threading.Thread(target=reader)
    thread.start()
    reading.wait(5)
    assert store.held("alice", "q", 500, 11) is None
    done.set()
    thread.join()


def test_a_first_page_asked_again_runs_the_query_again_and_shows_new_rows():
    store, source = CursorStore(), Source(30)
    assert store.page("alice", "q", source, 0, 11) == list(range(11))
    source.n = 31  # a DID registered since
    assert walk(store, source, "alice", "q", 10) == list(range(31))
    assert source.runs == 2


def test_users_and_queries_have_listings_of_their_own():
    store, a, b = CursorStore(), Source(30), Source(30)
    assert walk(store, a, "alice", "q", 7) == list(range(30))
    assert walk(store, b, "bob", "q", 7) == list(range(30))
    assert (a.runs, b.runs) == (1, 1)


def test_an_expired_listing_is_re_run_transparently():
    store, source = CursorStore(ttl=0), Source(50)
    first = store.page("alice", "q", source, 0, 11)
    token = store.cursor("alice", "q", 10)
    store.sweep()
    assert store.open_listings() == 0
    offset = store.offset(token, "alice", "q")
    assert first[:10] + store.page("alice", "q", source, offset, 10) == list(range(20))
    assert source.runs == 2


def test_the_memory_bound_drops_the_least_recently_used_listing_but_pages_stay_right():
    store = CursorStore(max_rows=100)
    old, new = Source(80), Source(80)
    store.page("alice", "old", old, 0, 80)
    store.page("alice", "new", new, 0, 80)
    assert store.open_listings() == 1
    # The dropped listing is run again when its owner comes back; rows are the same.
    assert store.page("alice", "old", old, 40, 10) == list(range(40, 50))
    assert old.runs == 2


def test_one_listing_over_the_bound_keeps_only_rows_from_the_current_page_on():
    store, source = CursorStore(max_rows=50), Source(200)
    assert walk(store, source, "alice", "q", 20) == list(range(200))
    assert source.runs == 1
    # Going back before the rows kept runs the query again, and still answers right.
    assert store.page("alice", "q", source, 0, 5) == list(range(5))
    assert source.runs == 2


def test_a_stream_that_fails_drops_the_listing_and_the_next_page_re_runs():
    store = CursorStore()
    runs = []

    def flaky() -> Iterator[int]:
        runs.append(1)
        yield from range(5)
        if len(runs) == 1:
            raise ConnectionError("Rucio went away")
        yield from range(5, 10)

    assert store.page("alice", "q", flaky, 0, 3) == [0, 1, 2]
    with pytest.raises(ConnectionError):
        store.page("alice", "q", flaky, 3, 5)
    assert store.page("alice", "q", flaky, 3, 5) == [3, 4, 5, 6, 7]


def test_a_cursor_from_another_user_is_refused():
    store = CursorStore()
    token = store.cursor("alice", "q", 100)
    with pytest.raises(InvalidRequest, match="not one this server handed out to you"):
        store.offset(token, "bob", "q")


def test_a_cursor_from_another_query_is_refused():
    store = CursorStore()
    token = store.cursor("alice", "cms:*", 100)
    with pytest.raises(InvalidRequest, match="belongs to another query"):
        store.offset(token, "alice", "atlas:*")


def test_a_cursor_from_an_earlier_server_is_refused():
    token = CursorStore().cursor("alice", "q", 100)
    with pytest.raises(InvalidRequest, match="earlier run of the server"):
        CursorStore().offset(token, "alice", "q")


def _forge(**payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("forged", "not one this server handed out"),
        ("bm90IGpzb24=", "not one this server handed out"),  # base64 of "not json"
        (_forge(o=10), "not one this server handed out"),
        ('{"o": 1e400}', "not one this server handed out"),
        (base64.urlsafe_b64encode(b'{"s":"x","q":"y","m":"z","o":1e400}').decode(), "range"),
        (_forge(s="x", q="y", m="z", o=2**63), "range"),
        (_forge(s="x", q="y", m="z", o=-1), "range"),
        (_forge(s="x", q="y", m="z", o=True), "range"),
        (_forge(s="x", q="y", m="z", o="10"), "range"),
    ],
)
def test_forged_or_out_of_range_cursors_are_refused(token, reason):
    with pytest.raises(InvalidRequest, match=reason):
        CursorStore().offset(token, "alice", "q")


def test_a_valid_token_with_a_changed_offset_is_refused():
    store = CursorStore()
    payload = json.loads(base64.urlsafe_b64decode(store.cursor("alice", "q", 100)))
    tampered = _forge(**{**payload, "o": 5000})
    with pytest.raises(InvalidRequest, match="not one this server handed out to you"):
        store.offset(tampered, "alice", "q")
    assert store.offset(store.cursor("alice", "q", MAX_OFFSET), "alice", "q") == MAX_OFFSET
