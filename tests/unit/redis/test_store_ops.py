"""The component ops declared in aggregates.py are the merge rule, exactly: the Redis cascade applies them in Lua.

Pure tests (no Redis): ``merge_components(ops, a, b)`` equals ``Aggregation.merge`` for every kind, and the cascade's
delta rule (additive ``sub += new - old``, min/max folded in when the incoming state is non-empty) rebuilds the merge
of a subtree when one member's own state grows. tests/integration/test_store.py checks the Lua itself against merge.
"""

from __future__ import annotations

import os

import msgspec
import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecard.core.aggregates import COMPONENT_OPS, KINDS, Aggregation, MinMax, NpsCounts, Ratio, State, SumCount
from scorecard.core.updates import CountsUpdate, OwnUpdate, check_ops, merge_components
from scorecard.redis.store import NUMERIC_LIMIT, NumericRangeError, RedisStore, StoreConflictError
from scorecard.redis.store import _check_update as check_update
from scorecard.redis.store import _ints as decode_state

EXAMPLES = settings(deadline=None, max_examples=int(os.environ.get("HYPO_N", "200")))

SPECS = [
    Aggregation("sum"),
    Aggregation("count"),
    Aggregation("avg"),
    Aggregation("min"),
    Aggregation("max"),
    Aggregation("nps"),
    Aggregation("ratio", numerator="sum", denominator="sum", multiplier=100),
    Aggregation("ratio", numerator="count", denominator="sum"),
]

amounts = st.integers(-(10**6), 10**6) | st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.1, -0.0, 7.5])
Event = tuple[int, float]  # (side, value): side 1 is a ratio's denominator, 0 everything else


def events_for(spec: Aggregation) -> st.SearchStrategy[list[Event]]:
    values = st.integers(0, 10) if spec.kind == "nps" else amounts
    return st.lists(st.tuples(st.integers(0, 1), values), max_size=12)


def fold(spec: Aggregation, events: list[Event], state: State | None = None) -> State:
    state = spec.new() if state is None else spec.merge(state, spec.new())  # a copy: callers keep theirs
    for side, x in events:
        if spec.kind != "ratio":
            spec.add(state, x)
        elif side == 0:
            spec.add_numerator(state, x)
        else:
            spec.add_denominator(state, x)
    return state


def cascade_rule(ops: str, sub: list[int], old: list[int], new: list[int]) -> list[int]:
    """The Lua ``cascade`` in Python: fold one own state's growth (old -> new) into a subtree state."""
    count = ops.find("c")
    was_empty = count >= 0 and sub[count] == 0
    incoming = count >= 0 and new[count] > 0
    out = []
    for op, s, o, n in zip(ops, sub, old, new, strict=True):
        if op in "ac":
            out.append(s + n - o)
        elif incoming and (was_empty or (op == "n" and n < s) or (op == "x" and n > s)):
            out.append(n)
        else:
            out.append(s)
    return out


@st.composite
def spec_and_event_lists(draw: st.DrawFn, n: int) -> tuple[Aggregation, list[list[Event]]]:
    spec = draw(st.sampled_from(SPECS))
    return spec, [draw(events_for(spec)) for _ in range(n)]


def test_every_state_family_declares_ops_as_long_as_its_list() -> None:
    assert set(COMPONENT_OPS) == {SumCount, MinMax, NpsCounts, Ratio}
    for kind in KINDS:
        spec = Aggregation(kind, "sum", "sum") if kind == "ratio" else Aggregation(kind)  # type: ignore[arg-type]
        assert check_ops(spec.component_ops) == spec.component_ops
        assert len(spec.component_ops) == len(spec.to_list(spec.new()))
    assert Aggregation("min").component_ops == "cnx"  # [count, lo, hi]
    assert Aggregation("avg").component_ops == "ac"  # [total, count]


@EXAMPLES
@given(spec_and_event_lists(2))
def test_component_ops_merge_equals_aggregation_merge(case: tuple[Aggregation, list[list[Event]]]) -> None:
    spec, (xs, ys) = case
    a, b = fold(spec, xs), fold(spec, ys)
    expected = spec.to_list(spec.merge(a, b))
    assert merge_components(spec.component_ops, spec.to_list(a), spec.to_list(b)) == expected
    assert merge_components(spec.component_ops, spec.to_list(b), spec.to_list(a)) == expected


@EXAMPLES
@given(spec_and_event_lists(3))
def test_cascade_delta_rule_equals_merge_of_grown_state(case: tuple[Aggregation, list[list[Event]]]) -> None:
    """sub = merge(others, old); old grows by more events into new; the rule must give merge(others, new)."""
    spec, (others_events, old_events, more_events) = case
    others, old = fold(spec, others_events), fold(spec, old_events)
    new = fold(spec, more_events, old)
    sub = spec.to_list(spec.merge(others, old))
    got = cascade_rule(spec.component_ops, sub, spec.to_list(old), spec.to_list(new))
    assert got == spec.to_list(spec.merge(others, new))


@pytest.mark.parametrize("ops", ["", "ab", "cc", "an", "ax", "ccn"])
def test_bad_ops_are_refused(ops: str) -> None:
    with pytest.raises(ValueError, match="component ops"):
        check_ops(ops)


def update(**changes: object) -> OwnUpdate:
    fields: dict[str, object] = {
        "kpi": "revenue",
        "bucket": 0,
        "unit": "emea",
        "version": 1,
        "state": [5, 1],
        "ancestors": ("emea", "sales", "acme"),
        "ops": "ac",
        "ttl_ms": 1000,
    }
    return OwnUpdate(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"state": [5]}, "must be 2 ints"),
        ({"state": [5.0, 1]}, "must be 2 ints"),
        ({"ancestors": ("sales", "acme")}, "unit first"),
        ({"ancestors": ("emea", "emea", "acme")}, "unit first"),
        ({"ttl_ms": 0}, "ttl_ms"),
    ],
)
def test_malformed_updates_are_refused_before_any_round_trip(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_update(update(**changes))


@pytest.mark.parametrize(
    "changes",
    [{"state": [NUMERIC_LIMIT, 1]}, {"state": [-NUMERIC_LIMIT, 1]}, {"version": NUMERIC_LIMIT}, {"version": -1}],
)
def test_numbers_lua_cannot_hold_exactly_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(NumericRangeError):
        check_update(update(**changes))
    check_update(update(state=[NUMERIC_LIMIT - 1, 1], version=NUMERIC_LIMIT - 1))  # the largest exact values pass


# ---------------------------------------------------------------------------------------- numbers as exact text
def test_payload_carries_states_and_versions_as_exact_decimal_text() -> None:
    """The script's cjson would read JSON numbers as doubles: states and versions must travel as strings."""
    wide = [2**70 + 1, -(NUMERIC_LIMIT - 1)]
    store = RedisStore(redis.Redis(), "unit")  # _encode needs no connection
    _, payload = store._encode(
        [update(state=wide, version=2**60 + 1)], [CountsUpdate.for_unit("emea", 2**60 + 1, {"accepted": 1})]
    )
    decoded = msgspec.json.decode(payload)
    ((_, _, ops, _, ((unit, version, state, _),)),) = decoded["g"]
    assert (unit, ops, version) == ("emea", "ac", "1152921504606846977")
    assert state == "[1180591620717411303425,-9007199254740990999999999999]"  # plain decimal integers, as stored
    assert msgspec.json.decode(state, type=list[int]) == wide
    assert decoded["c"][0][:2] == ["unit:emea", "1152921504606846977"]


@pytest.mark.parametrize(
    "value", [0, -1, 2**53 + 1, 2**64, 2**70 + 1, -(2**70) - 1, NUMERIC_LIMIT - 1, 1 - NUMERIC_LIMIT]
)
def test_stored_states_decode_to_exact_ints_of_any_size(value: int) -> None:
    """orjson would return a float for 2**64 (equal to the int, so only the type check catches it) and beyond."""
    got = decode_state(f"[{value},1]".encode(), "sub:revenue:0", b"emea")
    assert got == [value, 1]
    assert [type(n) for n in got] == [int, int]


@pytest.mark.parametrize("raw", [b"[1.5,1]", b"[1e30,1]", b"[1180591620717411303424.0,1]", b'["1",1]', b"[1,", b"7"])
def test_a_stored_state_that_is_not_a_list_of_ints_is_a_conflict(raw: bytes) -> None:
    with pytest.raises(StoreConflictError, match="sub:revenue:0 emea: corrupt state"):
        decode_state(raw, "sub:revenue:0", b"emea")
