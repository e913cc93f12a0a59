"""Scores and statuses on the 0-10 goal / red-flag standard, and the weighted means that roll them up.

With goal G, red flag R and d = G - R, the values R - d, R, G and G + d score 0, 10/3, 20/3 and 10, linearly in
between and clamped to [0, 10]. One formula serves both polarities: d < 0 means lower is better. The anchors are
returned as the exact constants below (never as the result of an interpolation that could land one ulp off), so a
value exactly on the goal always scores ``SCORE_GOAL`` and shows green in both the score and the status.

Everything here is a pure function of plain numbers: the definition module validates goals and weights, the engine
feeds values in, and replay and stream get identical floats from identical inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final, Literal, TypeAlias

SCORE_MIN: Final = 0.0
"""Score at R - d (one goal-to-red-flag distance worse than the red flag) and below."""
SCORE_RED_FLAG: Final = 10 / 3
"""Score at the red flag: the amber/red boundary of ``status_from_score``."""
SCORE_GOAL: Final = 20 / 3
"""Score at the goal: the green/amber boundary of ``status_from_score``."""
SCORE_MAX: Final = 10.0
"""Score at G + d (one distance better than the goal) and above."""

_THIRD: Final = 10 / 3  # score gained per anchor segment
_BELOW_RED_FLAG: Final = math.nextafter(SCORE_RED_FLAG, 0.0)
_BELOW_GOAL: Final = math.nextafter(SCORE_GOAL, 0.0)

Status: TypeAlias = Literal["green", "amber", "red", "no_data"]
GREEN: Final = "green"
AMBER: Final = "amber"
RED: Final = "red"
NO_DATA: Final = "no_data"

Polarity: TypeAlias = Literal["higher_is_better", "lower_is_better"]
HIGHER_IS_BETTER: Final = "higher_is_better"
LOWER_IS_BETTER: Final = "lower_is_better"


def polarity(goal: float, red_flag: float) -> Polarity:
    """Which way is better, read from the standard itself: a goal above the red flag means higher is better.

    A goal equal to the red flag gives no direction and no scale, so it is refused (the definition should
    report it when loading); ``ValueError`` here rather than a silent guess.
    """
    if not (math.isfinite(goal) and math.isfinite(red_flag)):
        raise ValueError(f"goal and red flag must be finite numbers, got goal={goal!r}, red_flag={red_flag!r}")
    if goal == red_flag:
        raise ValueError(f"goal and red flag must differ (both are {goal!r}): their distance sets the scale")
    return HIGHER_IS_BETTER if goal > red_flag else LOWER_IS_BETTER


def score(value: float | None, goal: float, red_flag: float) -> float | None:
    """Score ``value`` against the standard: 0 at R - d, 10/3 at R, 20/3 at G, 10 at G + d, linear in between.

    None (no value) scores None. Lower-is-better standards are scored by negating value, goal and red flag, which is
    exact in floating point, so both polarities share one piecewise formula and the same exact anchors. The anchor
    points are computed as ``R - (G - R)`` and ``G + (G - R)`` in float, i.e. the way a caller writes them.
    """
    if value is None or math.isnan(value):
        return None
    if polarity(goal, red_flag) == LOWER_IS_BETTER:
        value, goal, red_flag = -value, -goal, -red_flag
    if value == goal:
        return SCORE_GOAL
    if value == red_flag:
        return SCORE_RED_FLAG
    distance = goal - red_flag
    floor = red_flag - distance
    ceiling = goal + distance
    if value <= floor:
        return SCORE_MIN
    if value >= ceiling:
        return SCORE_MAX
    # Each segment has a positive width here (the value lies strictly inside it), and subtracting then dividing by
    # a positive width is monotone in float, so the score never decreases as the value improves. A value strictly
    # below an anchor is kept strictly below that anchor's score even when rounding would reach it, so
    # status_from_score(score(v)) always agrees with status(v).
    if value < red_flag:
        return min(_THIRD * ((value - floor) / (red_flag - floor)), _BELOW_RED_FLAG)
    if value < goal:
        return min(SCORE_RED_FLAG + _THIRD * ((value - red_flag) / (goal - red_flag)), _BELOW_GOAL)
    return min(SCORE_GOAL + _THIRD * ((value - goal) / (ceiling - goal)), SCORE_MAX)


def status(value: float | None, goal: float, red_flag: float) -> Status:
    """Green when the value reaches the goal, amber when it reaches only the red flag, red otherwise.

    "Reaches" is ``>=`` when higher is better and ``<=`` when lower is better; no value is ``no_data``.
    """
    if value is None or math.isnan(value):
        return NO_DATA
    if polarity(goal, red_flag) == HIGHER_IS_BETTER:
        if value >= goal:
            return GREEN
        return AMBER if value >= red_flag else RED
    if value <= goal:
        return GREEN
    return AMBER if value <= red_flag else RED


def status_from_score(score: float | None) -> Status:
    """Status of a unit without its own goal: green from 20/3, amber from 10/3, red below, no_data without a score.

    The thresholds are the scores of the goal and red flag, so for a unit that has a standard ``status`` and
    ``status_from_score(score(...))`` agree.
    """
    if score is None or math.isnan(score):
        return NO_DATA
    if score >= SCORE_GOAL:
        return GREEN
    if score >= SCORE_RED_FLAG:
        return AMBER
    return RED


def weighted_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """Weighted mean of ``(score, weight)`` pairs, ignoring missing scores (never counting them as zero).

    Nothing to average (no scores, or only zero total weight) gives None. The sums use ``math.fsum``, which is
    correctly rounded and therefore independent of the order of the pairs: children read from a Redis hash or a
    dict in any order roll up to the same bits. The result is clamped to the range of the scores averaged, which
    only removes rounding noise, so equal scores average to exactly that score. Weights must be >= 0 (validated
    by the definition); a negative weight raises ``ValueError``.
    """
    products: list[float] = []
    weights: list[float] = []
    low = math.inf
    high = -math.inf
    for value, weight in pairs:
        if weight < 0 or math.isnan(weight):
            raise ValueError(f"weights must be >= 0, got {weight!r}")
        if value is None or math.isnan(value) or weight == 0:
            continue
        products.append(value * weight)
        weights.append(weight)
        low = min(low, value)
        high = max(high, value)
    total_weight = math.fsum(weights)
    if not weights or total_weight == 0:
        return None
    return min(max(math.fsum(products) / total_weight, low), high)
