"""Properties that make stream, replay and rollup agree: exact monoid laws, split/merge invariance, rollup = union,
and the score's shape (monotone, bounded, exact anchors). Equality below is always exact ``==``, never approx.
"""

from __future__ import annotations

import json
import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scorecard.core.aggregates import Aggregation, State
from scorecard.core.events import InvalidEvent, decode_event, encode_event, event_from_mapping
from scorecard.core.scoring import (
    SCORE_GOAL,
    SCORE_MAX,
    SCORE_MIN,
    SCORE_RED_FLAG,
    score,
    status,
    status_from_score,
    weighted_mean,
)
from scorecard.core.windows import Calendar, Rolling, Tumbling

settings.register_profile("scorecard", deadline=None, max_examples=int(__import__("os").environ.get("HYPO_N", "200")))
settings.load_profile("scorecard")

# -------------------------------------------------------------------------------------------------- strategies

SPECS = [
    Aggregation("sum"),
    Aggregation("count"),
    Aggregation("avg"),
    Aggregation("min"),
    Aggregation("max"),
    Aggregation("nps"),
    Aggregation("ratio", numerator="sum", denominator="sum", multiplier=100),
    Aggregation("ratio", numerator="sum", denominator="count"),
    Aggregation("ratio", numerator="count", denominator="sum", multiplier=0.5),
    Aggregation("ratio", numerator="count", denominator="count", multiplier=1000),
]

amounts = st.one_of(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.sampled_from([0.1, 0.2, 0.3, 1e-7, 5e-7, -0.0, 120.5, 79.5]),
)
nps_answers = st.integers(min_value=0, max_value=10) | st.floats(min_value=0, max_value=10)

# An event for any spec: (side, value); side 0 = numerator / plain, 1 = denominator (ratio only).
Event = tuple[int, float]


def events_for(spec: Aggregation) -> st.SearchStrategy[list[Event]]:
    values = nps_answers if spec.kind == "nps" else amounts
    sides = st.integers(0, 1) if spec.kind == "ratio" else st.just(0)
    return st.lists(st.tuples(sides, values), max_size=40)


def fold(spec: Aggregation, events: list[Event]) -> State:
    state = spec.new()
    for side, x in events:
        if spec.kind != "ratio":
            spec.add(state, x)
        elif side == 0:
            spec.add_numerator(state, x)
        else:
            spec.add_denominator(state, x)
    return state


def same_value(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))


@st.composite
def spec_and_lists(draw: st.DrawFn, n: int) -> tuple[Aggregation, list[list[Event]]]:
    spec = draw(st.sampled_from(SPECS))
    return spec, [draw(events_for(spec)) for _ in range(n)]


# ------------------------------------------------------------------------------------------- aggregate laws


@given(spec_and_lists(3))
def test_merge_is_associative(case: tuple[Aggregation, list[list[Event]]]) -> None:
    spec, (xs, ys, zs) = case
    a, b, c = fold(spec, xs), fold(spec, ys), fold(spec, zs)
    left = spec.merge(spec.merge(a, b), c)
    right = spec.merge(a, spec.merge(b, c))
    assert left == right
    assert spec.to_list(left) == spec.to_list(right)
    assert same_value(spec.value(left), spec.value(right))


@given(spec_and_lists(2))
def test_merge_is_commutative_with_identity(case: tuple[Aggregation, list[list[Event]]]) -> None:
    spec, (xs, ys) = case
    a, b = fold(spec, xs), fold(spec, ys)
    assert spec.merge(a, b) == spec.merge(b, a)
    assert spec.merge(a, spec.new()) == a == spec.merge(spec.new(), a)


@given(spec_and_lists(1), st.data())
def test_splitting_anywhere_and_merging_equals_one_fold(
    case: tuple[Aggregation, list[list[Event]]], data: st.DataObject
) -> None:
    spec, (events,) = case
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=5)))
    parts = [events[i:j] for i, j in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    order = data.draw(st.permutations(range(len(parts))))
    merged = spec.new()
    for k in order:  # the stream merges partitions in any order
        spec.merge_into(merged, fold(spec, parts[k]))
    whole = fold(spec, events)
    assert merged == whole
    assert same_value(spec.value(merged), spec.value(whole))


@given(spec_and_lists(1), st.data())
def test_fold_order_does_not_matter(case: tuple[Aggregation, list[list[Event]]], data: st.DataObject) -> None:
    spec, (events,) = case
    shuffled = data.draw(st.permutations(events))
    assert fold(spec, list(shuffled)) == fold(spec, events)


@given(spec_and_lists(4))
def test_parent_value_is_aggregation_of_union_of_subtree_events(case: tuple[Aggregation, list[list[Event]]]) -> None:
    # parent with own events and children c1, c2; c2 has its own child g (three levels, as in an org tree)
    spec, (own, c1, c2_own, g) = case
    grandchild = fold(spec, g)
    child2 = spec.merge(fold(spec, c2_own), grandchild)
    parent = spec.merge_all([fold(spec, own), fold(spec, c1), child2])
    everything = fold(spec, own + c1 + c2_own + g)
    assert parent == everything
    assert same_value(spec.value(parent), spec.value(everything))


@given(spec_and_lists(1))
def test_serialization_round_trip(case: tuple[Aggregation, list[list[Event]]]) -> None:
    spec, (events,) = case
    state = fold(spec, events)
    data = spec.to_list(state)
    assert all(type(n) is int for n in data)
    assert len(data) == len(spec.to_list(spec.new()))
    assert json.loads(json.dumps(data)) == data
    assert spec.from_list(data) == state
    assert same_value(spec.value(spec.from_list(data)), spec.value(state))


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=50))
def test_sum_and_avg_are_close_to_exact_arithmetic(xs: list[float]) -> None:
    sum_spec, avg_spec = Aggregation("sum"), Aggregation("avg")
    total = sum_spec.value(fold(sum_spec, [(0, x) for x in xs]))
    assert total is not None
    assert abs(total - math.fsum(xs)) <= len(xs) * 0.5e-6 + 1e-9 * abs(math.fsum(xs)) + 1e-9
    avg = avg_spec.value(fold(avg_spec, [(0, x) for x in xs]))
    assert avg is not None
    assert min(xs) - 1e-6 <= avg <= max(xs) + 1e-6


@given(st.lists(nps_answers, max_size=40))
def test_nps_is_between_minus_100_and_100(answers: list[float]) -> None:
    spec = Aggregation("nps")
    value = spec.value(fold(spec, [(0, x) for x in answers]))
    assert (value is None) == (not answers)
    assert value is None or -100 <= value <= 100


# ------------------------------------------------------------------------------------------------- scoring

standards = st.tuples(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
).filter(lambda gr: gr[0] != gr[1])
values = st.floats(min_value=-1e10, max_value=1e10, allow_nan=False)


@given(standards)
def test_score_hits_the_four_anchors_exactly(standard: tuple[float, float]) -> None:
    goal, red_flag = standard
    d = goal - red_flag
    assume(red_flag - d != red_flag and goal + d != goal)  # anchors that rounding has merged are not distinct
    assert score(red_flag - d, goal, red_flag) == SCORE_MIN
    assert score(red_flag, goal, red_flag) == SCORE_RED_FLAG
    assert score(goal, goal, red_flag) == SCORE_GOAL
    assert score(goal + d, goal, red_flag) == SCORE_MAX


@given(standards, values, values)
def test_score_is_monotone_in_the_value(standard: tuple[float, float], a: float, b: float) -> None:
    goal, red_flag = standard
    low, high = min(a, b), max(a, b)
    s_low, s_high = score(low, goal, red_flag), score(high, goal, red_flag)
    assert s_low is not None and s_high is not None
    if goal > red_flag:
        assert s_low <= s_high
    else:
        assert s_low >= s_high


@given(standards, values)
def test_score_is_within_0_and_10_and_agrees_with_status(standard: tuple[float, float], value: float) -> None:
    goal, red_flag = standard
    result = score(value, goal, red_flag)
    assert result is not None
    assert 0.0 <= result <= 10.0
    assert status_from_score(result) == status(value, goal, red_flag)


@given(standards, st.sampled_from([-math.inf, math.inf]))
def test_infinite_values_clamp(standard: tuple[float, float], value: float) -> None:
    goal, red_flag = standard
    assert score(value, goal, red_flag) in (SCORE_MIN, SCORE_MAX)


scores = st.none() | st.floats(min_value=0, max_value=10)
weights = st.floats(min_value=0, max_value=100)


@given(st.lists(st.tuples(scores, weights), max_size=12), st.data())
def test_weighted_mean_ignores_none_is_bounded_and_order_free(
    pairs: list[tuple[float | None, float]], data: st.DataObject
) -> None:
    result = weighted_mean(pairs)
    used = [s for s, w in pairs if s is not None and w > 0]
    if not used:
        assert result is None
        return
    assert result is not None
    assert min(used) <= result <= max(used)
    assert weighted_mean(data.draw(st.permutations(pairs))) == result
    assert weighted_mean([*pairs, (None, 50.0)]) == result


# ------------------------------------------------------------------------------------------------- windows

times = st.floats(min_value=-1e9, max_value=4e9, allow_nan=False)


@given(st.integers(1, 10**6), times)
def test_tumbling_bucket_contains_time(size: int, t: float) -> None:
    window = Tumbling(size)
    start, end = window.span(t)
    assert start <= t < end and end - start == size and start % size == 0


@given(st.integers(1, 3600), st.integers(1, 48), times)
def test_rolling_buckets_cover_size_and_end_with_the_bucket_of_t(step: int, count: int, t: float) -> None:
    window = Rolling(step * count, step)
    buckets = window.buckets_at(t)
    assert len(buckets) == count
    assert buckets[-1] == window.bucket(t) <= t < buckets[-1] + step
    assert window.span(t) == (buckets[0], buckets[-1] + step)
    assert window.oldest_needed(t) == buckets[0] - window.size


@given(
    st.sampled_from(["day", "week", "month", "quarter", "year"]),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
    st.lists(st.floats(min_value=0, max_value=4e9, allow_nan=False), min_size=1, max_size=20),
)
def test_calendar_cache_agrees_with_fresh_computation(period: str, zone: str, ts: list[float]) -> None:
    cached = Calendar(period, zone)  # type: ignore[arg-type]
    for t in ts:
        fresh = Calendar(period, zone)  # type: ignore[arg-type]
        start, end = cached.span(t)
        assert (start, end) == fresh.span(t)
        assert start <= t < end
        assert cached.bucket(t) == start
        assert cached.bucket(end) == end  # the next period starts exactly where this one ends
        assert cached.oldest_needed(t) < start


# -------------------------------------------------------------------------------------------------- events

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=5) | st.integers(-(10**20), 10**20) | json_values,
        "type": st.text(max_size=5) | json_values,
        "unit": st.text(max_size=5) | json_values,
        "time": st.sampled_from(["2026-11-27T10:15:00Z", "2026-11-27T11:15:00+01:00", "2026-11-27", ""])
        | st.floats(-1e12, 1e13, allow_nan=False)
        | st.integers(-(10**13), 10**13)
        | json_values,
        "fields": st.dictionaries(st.text(max_size=4), json_values, max_size=3) | json_values,
        "extra": json_values,
    },
)


valid_event = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=8) | st.integers(-(10**20), 10**20),
        "type": st.text(min_size=1, max_size=8),
        "unit": st.text(min_size=1, max_size=8),
        "time": st.sampled_from(["2026-11-27T10:15:00Z", "2026-11-27T11:15:00.250+01:00", "1999-12-31T23:59:59-05:00"])
        | st.floats(-3e10, 2.5e11, allow_nan=False)
        | st.integers(-(3 * 10**10), 25 * 10**10),
    },
    optional={
        "fields": st.dictionaries(st.text(max_size=4), json_values, max_size=3),
        "extra": json_values,
    },
)
"""Events every decoder must accept (times inside years 1000-9997): generated on purpose, since random dictionaries
are almost never valid."""


def check_decoders_agree(obj: object) -> bool:
    """Both decoding paths give the same event, or the same reason; True when the event was valid."""
    raw = json.dumps(obj).encode()
    try:
        expected = event_from_mapping(json.loads(raw))
    except InvalidEvent as exc:
        try:
            decode_event(raw)
        except InvalidEvent as got:
            assert got.reason == exc.reason
        else:
            raise AssertionError(f"decode_event accepted what event_from_mapping refused ({exc})") from None
        return False
    event = decode_event(raw)
    assert event == expected
    assert decode_event(encode_event(event)) == event
    return True


def test_fast_and_slow_decoding_agree_on_valid_and_invalid_events() -> None:
    seen = {True: 0, False: 0}

    @given(st.one_of(valid_event, event_like))
    def check(obj: dict[str, object]) -> None:
        seen[check_decoders_agree(obj)] += 1

    check()
    # Both halves of the property really ran: at least a quarter of the examples each way.
    examples = seen[True] + seen[False]
    assert seen[True] >= examples // 4 and seen[False] >= examples // 4, seen


@given(valid_event)
def test_every_generated_valid_event_is_accepted_by_both_decoders(obj: dict[str, object]) -> None:
    assert check_decoders_agree(obj), obj
