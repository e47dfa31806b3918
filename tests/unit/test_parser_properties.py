"""Property tests of what users type: DIDs, lifetimes, RSE expressions, cursors and filters.

Each parser either returns a value within its bounds or raises :class:`InvalidRequest` (a 400);
never another exception (a 500), whatever the text.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jupyter_wp5 import contract
from jupyter_wp5.data.cursors import MAX_OFFSET, CursorStore
from jupyter_wp5.models import (
    DID,
    FILTER_KEYS,
    MAX_COMMENT,
    MAX_EXPRESSION,
    InvalidRequest,
    ReplicaRequest,
    SearchQuery,
    parse_lifetime,
)

# Reproducible in CI, and no deadline: unit tests assert behaviour, never timing.
SETTINGS = settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SEGMENT = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._+-]{0,15}\Z")
SCOPE = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,29}\Z")


def _in_contract(schema: str, value: object) -> bool:
    validator = contract.OAS30Validator(contract.spec()["components"]["schemas"][schema])
    return validator.is_valid(value)


# -- DID ----------------------------------------------------------------------------------------


@SETTINGS
@given(SCOPE, st.lists(SEGMENT, min_size=1, max_size=5))
def test_well_formed_dids_round_trip(scope, segments):
    name = "/".join(segments)
    if len(name) > 250:
        return
    did = DID.parse(f"{scope}:{name}")
    assert (did.scope, did.name) == (scope, name)
    assert _in_contract("Did", str(did))


@SETTINGS
@given(SCOPE, st.lists(SEGMENT.map(lambda s: s.replace("-", "#")), min_size=1, max_size=5))
def test_cms_names_with_a_leading_slash_and_a_block_id_round_trip(scope, segments):
    name = "/" + "/".join(segments)
    if len(name) > 250:
        return
    did = DID.parse(f"{scope}:{name}")
    assert (did.scope, did.name) == (scope, name)
    assert _in_contract("Did", str(did))


@SETTINGS
@given(st.text(max_size=300))
@example("cms:/DY/Run3/NANOAODSIM#a1b2")
@example("cms:/")
@example("cms://DY")
@example("cms:/DY/")
@example("cms:/./DY")
@example("cms:/DY/../x")
@example("cms:a/../b")
@example("cms:a//b")
@example("cms:a/./b")
@example("cms:a/")
@example("cms:a/...")
def test_any_text_is_a_did_or_a_400_and_the_contract_agrees(text):
    try:
        did = DID.parse(text)
    except InvalidRequest:
        assert not _in_contract("Did", text.strip())
        return
    segments = did.name.removeprefix("/").split("/")
    assert all(s.strip(".") for s in segments), did
    assert _in_contract("Did", str(did))


@pytest.mark.parametrize(
    "name", ["a/../b", "a//b", "a/./b", "a/", "a/..", "/", "//a", "/a/", "/./a", "/a/../b"]
)
def test_dot_and_empty_segments_are_refused(name):
    with pytest.raises(InvalidRequest, match="segment"):
        DID.of("cms", name)


# -- lifetime -----------------------------------------------------------------------------------


@SETTINGS
@given(st.integers(1, 10**12 - 1), st.sampled_from(["", "s", "m", "h", "d", "w"]))
def test_durations_parse_to_seconds(n, unit):
    factor = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert parse_lifetime(f"{n}{unit}") == n * factor


@SETTINGS
@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.booleans()))
@example("99999999999999w")
@example(10**30)
def test_any_lifetime_is_bounded_seconds_or_a_400(value):
    try:
        seconds = parse_lifetime(value)
    except InvalidRequest:
        return
    # At most 12 digits of weeks: the service's max_lifetime then bounds it (a year by default).
    assert seconds is None or 0 < seconds < 10**12 * 604800


# -- RSE expression, comment, copies ------------------------------------------------------------


@SETTINGS
@given(st.text(max_size=MAX_EXPRESSION + 50), st.text(max_size=MAX_COMMENT + 50), st.integers())
def test_replica_requests_bound_expression_comment_and_copies(expression, comment, copies):
    body = {"did": "cms:x", "rse_expression": expression, "comment": comment, "copies": copies}
    try:
        request = ReplicaRequest.from_dict(body)
    except InvalidRequest:
        return
    assert 0 < len(request.rse_expression) <= MAX_EXPRESSION
    assert request.comment is None or len(request.comment) <= MAX_COMMENT
    assert request.copies >= 1


# -- cursor -------------------------------------------------------------------------------------


STORE = CursorStore()


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": value}).encode()).decode()


def _offset(text: str) -> int:
    return STORE.offset(text, "alice", "cms:*")


@SETTINGS
@given(st.integers(0, MAX_OFFSET))
def test_cursors_we_hand_out_decode(offset):
    assert _offset(STORE.cursor("alice", "cms:*", offset)) == offset


@SETTINGS
@given(
    st.one_of(
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.text(max_size=5),
        st.none(),
    )
)
@example(2**63)
@example(10**400)
def test_cursor_values_are_bounded_integers_or_a_400(value):
    # A real token with its offset replaced: the MAC no longer matches, or the value is refused.
    real = json.loads(base64.urlsafe_b64decode(STORE.cursor("alice", "cms:*", 0)))
    text = base64.urlsafe_b64encode(json.dumps({**real, "o": value}).encode()).decode()
    try:
        offset = _offset(text)
    except InvalidRequest:
        return
    assert type(offset) is int and 0 <= offset <= MAX_OFFSET


@pytest.mark.parametrize("text", ["eyJvIjogMWU0MDB9", _cursor(2**63), _cursor(-1), "x" * 500])
def test_overflowing_cursors_are_refused(text):
    # eyJvIjogMWU0MDB9 is {"o": 1e400}: JSON's infinity.
    with pytest.raises(InvalidRequest, match="cursor"):
        _offset(text)


@SETTINGS
@given(st.text(max_size=300))
def test_any_cursor_text_is_a_cursor_or_a_400(text):
    try:
        offset = _offset(text)
    except InvalidRequest:
        return
    assert 0 <= offset <= MAX_OFFSET


# -- filters ------------------------------------------------------------------------------------

OPERATORS = st.sampled_from(["=", "!=", ">", "<", ">=", "<="])


@SETTINGS
@given(st.sampled_from(sorted(FILTER_KEYS)), OPERATORS, st.integers(-(10**17), 10**17))
def test_known_keys_with_whole_numbers_parse(key, op, value):
    query = SearchQuery.parse("cms:*", filters=f"{key}{op}{value}")
    assert query.filters == ((key, op, str(value)),)


@SETTINGS
@given(st.text(max_size=200))
@example("name=secret*")
@example("events>inf")
@example("events>nan")
@example("datatype=1e999")
@example("no_such_key=1")
def test_any_filter_text_is_known_keys_and_finite_numbers_or_a_400(text):
    try:
        query = SearchQuery.parse("cms:*", filters=text)
    except InvalidRequest:
        return
    for key, _, value in query.filters:
        assert key in FILTER_KEYS
        assert not re.fullmatch(r"[+-]?(inf(inity)?|nan)", value.strip(), re.IGNORECASE)


@pytest.mark.parametrize(
    ("filters", "reason"),
    [
        ("name=secret*", "in q"),
        ("scope=other", "in q"),
        ("color=red", "not a metadata key"),
        ("events>inf", "whole number"),
        ("datatype=nan", "finite"),
        ("campaign>1e999", "finite"),
    ],
)
def test_filters_cannot_override_the_query_or_reach_rucio_unchecked(filters, reason):
    with pytest.raises(InvalidRequest, match=reason):
        SearchQuery.parse("cms:*DY*", filters=filters)


# -- request bodies -----------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), inner, max_size=3)
    ),
    max_leaves=30,
)


def _nesting(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_nesting, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_nesting, value.values()), default=0)
    return 0


@SETTINGS
@given(JSON)
def test_bodies_parse_as_json_unless_nested_beyond_the_limit(value):
    raw = json.dumps(value).encode()
    if _nesting(value) > contract.MAX_BODY_DEPTH:
        with pytest.raises(InvalidRequest, match="nested deeper"):
            contract.parse_body(raw)
    else:
        # Brackets and quotes inside strings never count as nesting.
        assert contract.parse_body(raw) == value


@SETTINGS
@given(st.integers(contract.MAX_BODY_DEPTH + 1, 100_000), st.sampled_from(["[", '{"a":']))
def test_any_nesting_beyond_the_limit_is_a_400(depth, opener):
    closer = "]" if opener == "[" else "}"
    raw = (opener * depth + "1" + closer * depth).encode()
    with pytest.raises(InvalidRequest, match="nested deeper"):
        contract.parse_body(raw)
