"""Hand-checked aggregate values: every expected number below is worked out by hand in the comment or the name."""

from __future__ import annotations

import pytest

from scorecard.core.aggregates import (
    DETRACTOR,
    PASSIVE,
    PROMOTER,
    SCALE,
    Aggregation,
    MinMax,
    NpsCounts,
    Ratio,
    SumCount,
    make_aggregation,
    nps_bucket,
    to_fixed,
)


def fold(kind: str, values: list[float]) -> float | None:
    agg = Aggregation(kind)  # type: ignore[arg-type]
    state = agg.new()
    for x in values:
        agg.add(state, x)
    return agg.value(state)


def test_to_fixed_is_micro_units_rounded_half_even() -> None:
    assert SCALE == 1_000_000
    assert to_fixed(120.5) == 120_500_000
    assert to_fixed(0.1) == 100_000
    assert to_fixed(-2.25) == -2_250_000
    assert to_fixed(7) == 7_000_000
    assert to_fixed(0.0000005) in (0, 1)  # binary 5e-7 is not exactly half: either neighbour is honest
    assert to_fixed(2.5e-6) == 2  # 2.5 micro-units -> half-even -> 2
    assert to_fixed(3.5e-6) == 4
    assert to_fixed(10**30) == 10**36  # ints stay exact at any size


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_to_fixed_refuses_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        to_fixed(bad)
    with pytest.raises(ValueError, match="non-finite"):
        SumCount().add(bad)
    with pytest.raises(ValueError, match="non-finite"):
        MinMax().add(bad)


def test_sum_of_two_amounts() -> None:
    assert fold("sum", [120.5, 79.5]) == 200.0


def test_sum_is_exact_where_floats_are_not() -> None:
    # float: 0.1 + 0.2 + 0.3 = 0.6000000000000001; fixed point: 100000 + 200000 + 300000 micro-units = 0.6
    assert fold("sum", [0.1, 0.2, 0.3]) == 0.6


def test_empty_sum_and_count_are_zero() -> None:
    assert fold("sum", []) == 0.0
    assert fold("count", []) == 0
    assert fold("avg", []) is None


def test_count_ignores_values() -> None:
    agg = Aggregation("count")
    state = agg.new()
    agg.add(state)
    agg.add(state, 123.0)
    agg.add(state, -1.0)
    assert agg.value(state) == 3.0
    assert agg.to_list(state) == [0, 3]  # the total stays 0 whatever field fed it


def test_avg_is_over_all_events_not_average_of_averages() -> None:
    agg = Aggregation("avg")
    child, own = agg.new(), agg.new()
    for x in (1, 2, 3):
        agg.add(child, x)
    agg.add(own, 10)
    # average of averages would be (2 + 10) / 2 = 6; over all events (1 + 2 + 3 + 10) / 4 = 4
    assert agg.value(agg.merge(child, own)) == 4.0


def test_min_max() -> None:
    assert fold("min", [3.5, -1.25, 7]) == -1.25
    assert fold("max", [3.5, -1.25, 7]) == 7.0
    assert fold("min", [5]) == 5.0
    assert fold("min", []) is None
    assert fold("max", []) is None


def test_min_max_merge_with_empty_side() -> None:
    agg = Aggregation("max")
    full = agg.new()
    agg.add(full, -4.0)
    assert agg.value(agg.merge(agg.new(), full)) == -4.0
    assert agg.value(agg.merge(full, agg.new())) == -4.0


def test_nps_buckets() -> None:
    assert [nps_bucket(x) for x in (0, 6, 6.5, 7, 8, 8.9, 9, 10)] == [
        DETRACTOR,
        DETRACTOR,
        PASSIVE,
        PASSIVE,
        PASSIVE,
        PASSIVE,
        PROMOTER,
        PROMOTER,
    ]


def test_nps_values() -> None:
    # promoters 10, 9; passives 8, 7; detractors 6, 0 -> 100 * (2 - 2) / 6 = 0
    assert fold("nps", [10, 9, 8, 7, 6, 0]) == 0.0
    # 3 promoters, 1 detractor of 4 -> 100 * 2 / 4 = 50
    assert fold("nps", [10, 10, 9, 3]) == 50.0
    assert fold("nps", [0, 1]) == -100.0
    assert fold("nps", []) is None


def test_ratio_sum_over_count() -> None:
    # revenue per order: 100 * (120.5 + 79.5) / 2 orders with multiplier 1 -> 100.0
    agg = make_aggregation("ratio", numerator="sum", denominator="count")
    state = agg.new()
    agg.add_numerator(state, 120.5)
    agg.add_numerator(state, 79.5)
    agg.add_denominator(state, 999.0)  # a counting side ignores the value
    agg.add_denominator(state)
    assert agg.value(state) == 100.0
    assert agg.to_list(state) == [200_000_000, 2]


def test_ratio_count_over_count_with_multiplier_is_a_percentage() -> None:
    # 1 complaint per 8 orders, as a percentage: 100 * 1 / 8 = 12.5
    agg = Aggregation("ratio", numerator="count", denominator="count", multiplier=100)
    state = agg.new()
    agg.add_numerator(state)
    for _ in range(8):
        agg.add_denominator(state)
    assert agg.value(state) == 12.5


def test_ratio_sum_over_sum() -> None:
    agg = Aggregation("ratio", numerator="sum", denominator="sum", multiplier=1000)
    state = agg.new()
    agg.add_numerator(state, 0.25)
    agg.add_denominator(state, 50)
    assert agg.value(state) == 5.0  # 1000 * 0.25 / 50


def test_ratio_with_zero_denominator_has_no_value() -> None:
    agg = Aggregation("ratio", numerator="sum", denominator="sum")
    state = agg.new()
    agg.add_numerator(state, 5.0)
    assert agg.value(state) is None
    agg.add_denominator(state, 2.0)
    agg.add_denominator(state, -2.0)  # sums to zero: still no value
    assert agg.value(state) is None


def test_ratio_refuses_a_sideless_add() -> None:
    agg = Aggregation("ratio", numerator="count", denominator="count")
    with pytest.raises(TypeError, match="add_numerator"):
        agg.add(agg.new(), 1.0)


@pytest.mark.parametrize(("kind", "length"), [("sum", 2), ("count", 2), ("avg", 2), ("min", 3), ("max", 3), ("nps", 3)])
def test_to_list_round_trip_and_fixed_length(kind: str, length: int) -> None:
    agg = Aggregation(kind)  # type: ignore[arg-type]
    state = agg.new()
    assert len(agg.to_list(state)) == length
    for x in (3, 9, 10, 0.5):
        agg.add(state, x)
    data = agg.to_list(state)
    assert len(data) == length
    assert all(type(n) is int for n in data)
    assert agg.from_list(data) == state
    assert agg.value(agg.from_list(data)) == agg.value(state)


def test_from_list_refuses_wrong_shapes() -> None:
    with pytest.raises(ValueError, match="2 ints"):
        Aggregation("sum").from_list([1, 2, 3])
    with pytest.raises(ValueError, match="3 ints"):
        Aggregation("nps").from_list([1, 2.0, 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="2 ints"):
        Aggregation("ratio", numerator="sum", denominator="sum").from_list([True, 1])


def test_empty_min_max_has_one_canonical_form() -> None:
    assert MinMax.from_list([0, 5, 9]) == MinMax()


def test_merge_leaves_inputs_alone_and_merge_into_mutates_target() -> None:
    agg = Aggregation("sum")
    a, b = agg.new(), agg.new()
    agg.add(a, 1.0)
    agg.add(b, 2.0)
    merged = agg.merge(a, b)
    assert agg.value(merged) == 3.0
    assert agg.value(a) == 1.0 and agg.value(b) == 2.0
    assert agg.merge_into(a, b) is a
    assert agg.value(a) == 3.0
    assert agg.value(agg.merge_all([a, b, agg.new()])) == 5.0


def test_state_classes_per_kind() -> None:
    assert isinstance(Aggregation("avg").new(), SumCount)
    assert isinstance(Aggregation("min").new(), MinMax)
    assert isinstance(Aggregation("nps").new(), NpsCounts)
    assert isinstance(Aggregation("ratio", numerator="sum", denominator="count").new(), Ratio)


def test_adder_is_the_plain_function() -> None:
    agg = Aggregation("sum")
    state = agg.new()
    agg.adder(state, 2.5)
    assert agg.value(state) == 2.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "median"}, "aggregation must be one of"),
        ({"kind": "ratio", "numerator": "sum"}, "denominator must be 'sum' or 'count'"),
        ({"kind": "ratio", "numerator": "avg", "denominator": "sum"}, "numerator must be"),
        ({"kind": "ratio", "numerator": "sum", "denominator": "sum", "multiplier": float("nan")}, "non-finite"),
        ({"kind": "ratio", "numerator": "sum", "denominator": "sum", "multiplier": "100"}, "must be a number"),
        ({"kind": "sum", "multiplier": 100}, "only apply to ratio"),
        ({"kind": "avg", "numerator": "sum"}, "only apply to ratio"),
    ],
)
def test_bad_specs_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_aggregation(**kwargs)  # type: ignore[arg-type]


def test_specs_compare_by_configuration() -> None:
    assert Aggregation("sum") == Aggregation("sum")
    assert Aggregation("ratio", numerator="sum", denominator="count", multiplier=100) != Aggregation(
        "ratio", numerator="sum", denominator="count"
    )
