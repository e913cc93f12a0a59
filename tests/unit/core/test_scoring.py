"""Scores, statuses and weighted means on the goal / red-flag standard, with exact anchors."""

from __future__ import annotations

import pytest

from scorecard.core.scoring import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    SCORE_GOAL,
    SCORE_MAX,
    SCORE_MIN,
    SCORE_RED_FLAG,
    polarity,
    score,
    status,
    status_from_score,
    weighted_mean,
)


def test_anchor_constants() -> None:
    assert (SCORE_MIN, SCORE_RED_FLAG, SCORE_GOAL, SCORE_MAX) == (0.0, 10 / 3, 20 / 3, 10.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (80, 0.0),
        (90, 10 / 3),
        (100, 20 / 3),
        (110, 10.0),
        (95, 5.0),
        (85, 10 / 6),
        (105, 25 / 3),
        (200, 10.0),
        (0, 0.0),
        (-1e300, 0.0),
        (float("inf"), 10.0),
    ],
)
def test_higher_is_better_scores(value: float, expected: float) -> None:
    # G=100, R=90, d=10: anchors 80, 90, 100, 110
    assert score(value, 100, 90) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("value", "expected"), [(80, 0.0), (90, 10 / 3), (100, 20 / 3), (110, 10.0)])
def test_higher_is_better_anchors_are_exact(value: float, expected: float) -> None:
    assert score(value, 100, 90) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(8, 0.0), (5, 10 / 3), (2, 20 / 3), (-1, 10.0), (11, 0.0), (-5, 10.0), (3.5, 5.0)],
)
def test_lower_is_better_scores_and_exact_anchors(value: float, expected: float) -> None:
    # G=2, R=5, d=-3: anchors 8, 5, 2, -1
    if value in (8, 5, 2, -1):
        assert score(value, 2, 5) == expected
    else:
        assert score(value, 2, 5) == pytest.approx(expected, abs=1e-12)


def test_anchors_with_awkward_floats_are_exact() -> None:
    goal, red_flag = 0.3, 0.1
    d = goal - red_flag
    assert score(red_flag - d, goal, red_flag) == 0.0
    assert score(red_flag, goal, red_flag) == 10 / 3
    assert score(goal, goal, red_flag) == 20 / 3
    assert score(goal + d, goal, red_flag) == 10.0
    # and mirrored: lower is better
    goal, red_flag = 0.1, 0.3
    d = goal - red_flag
    assert score(red_flag - d, goal, red_flag) == 0.0
    assert score(red_flag, goal, red_flag) == 10 / 3
    assert score(goal, goal, red_flag) == 20 / 3
    assert score(goal + d, goal, red_flag) == 10.0


def test_no_value_no_score() -> None:
    assert score(None, 100, 90) is None
    assert score(float("nan"), 100, 90) is None


def test_goal_equal_to_red_flag_is_refused() -> None:
    with pytest.raises(ValueError, match="must differ"):
        score(5, 3, 3)
    with pytest.raises(ValueError, match="finite"):
        polarity(float("nan"), 3)


def test_polarity() -> None:
    assert polarity(100, 90) == HIGHER_IS_BETTER
    assert polarity(2, 5) == LOWER_IS_BETTER


@pytest.mark.parametrize(
    ("value", "expected"),
    [(100, "green"), (120, "green"), (99.99, "amber"), (90, "amber"), (89.99, "red"), (None, "no_data")],
)
def test_status_higher_is_better(value: float | None, expected: str) -> None:
    assert status(value, 100, 90) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2, "green"), (-3, "green"), (2.01, "amber"), (5, "amber"), (5.01, "red"), (None, "no_data")],
)
def test_status_lower_is_better(value: float | None, expected: str) -> None:
    assert status(value, 2, 5) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10.0, "green"),
        (20 / 3, "green"),
        (6.6666, "amber"),
        (10 / 3, "amber"),
        (3.3333, "red"),
        (0.0, "red"),
        (None, "no_data"),
    ],
)
def test_status_from_score(value: float | None, expected: str) -> None:
    assert status_from_score(value) == expected


def test_status_and_score_agree_just_below_the_goal() -> None:
    import math

    goal, red_flag = 100.0, 90.0
    below = math.nextafter(goal, 0)
    assert status(below, goal, red_flag) == "amber"
    assert status_from_score(score(below, goal, red_flag)) == "amber"


def test_weighted_mean() -> None:
    # (6 * 2 + 9 * 1) / 3 = 7
    assert weighted_mean([(6.0, 2), (9.0, 1)]) == 7.0
    assert weighted_mean([(5.0, 1)]) == 5.0


def test_weighted_mean_ignores_missing_scores() -> None:
    # None is ignored, not counted as 0: (4 * 1 + 8 * 1) / 2 = 6, not 4
    assert weighted_mean([(4.0, 1), (None, 5), (8.0, 1)]) == 6.0


def test_weighted_mean_of_nothing_is_none() -> None:
    assert weighted_mean([]) is None
    assert weighted_mean([(None, 1), (None, 2)]) is None
    assert weighted_mean([(5.0, 0)]) is None


def test_weighted_mean_is_order_independent_and_exact_for_equal_scores() -> None:
    pairs = [(0.1, 0.3), (7.7, 1.9), (3.3, 0.7), (9.9, 2.3), (1 / 3, 1.1)]
    assert weighted_mean(pairs) == weighted_mean(list(reversed(pairs)))
    assert weighted_mean([(10 / 3, 0.1), (10 / 3, 0.7), (10 / 3, 0.2)]) == 10 / 3


def test_weighted_mean_refuses_negative_weights() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        weighted_mean([(5.0, -1)])
