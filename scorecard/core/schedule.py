"""Phased targets: a goal / red-flag pair that changes over time ("+20 now, +50 by Q4").

A schedule is a list of entries, each in force from a local date (midnight in the scorecard's timezone), sorted and
validated by the definition. ``pair_at`` gives the pair in force at an instant:

- ``step`` (the default): the pair of the last entry that has started;
- ``linear``: between two consecutive entries, goal and red flag move linearly in real seconds from the first
  entry's pair (at its midnight) to the next one's (at its midnight); after the last entry its pair holds.

Before the first entry there is no pair (None): the unit then scores like a unit without targets (rule 5).
Which instant is asked depends on the window (``targets_instant``): the last second of a calendar or tumbling
window, so a Q4 goal applies to all of Q4, and the evaluation time for a rolling window.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

__all__ = ["Interpolation", "Schedule", "ScheduleEntry", "targets_instant"]

Interpolation: TypeAlias = Literal["step", "linear"]


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """One phase: ``goal`` and ``red_flag`` in force from local midnight of ``start``."""

    start: date
    goal: float
    red_flag: float


@dataclass(frozen=True, slots=True)
class Schedule:
    """Entries sorted by ``start`` (strictly increasing, checked by the definition) and how to move between them."""

    entries: tuple[ScheduleEntry, ...]
    interpolate: Interpolation = "step"

    def pair_at(self, at: float, zone: ZoneInfo) -> tuple[float, float] | None:
        """The (goal, red_flag) in force at epoch ``at``; None before the first entry."""
        starts = [_midnight(entry.start, zone) for entry in self.entries]
        index = bisect_right(starts, at) - 1
        if index < 0:
            return None
        entry = self.entries[index]
        if self.interpolate == "step" or index + 1 == len(self.entries):
            return entry.goal, entry.red_flag
        following = self.entries[index + 1]
        share = (at - starts[index]) / (starts[index + 1] - starts[index])
        return (
            entry.goal + (following.goal - entry.goal) * share,
            entry.red_flag + (following.red_flag - entry.red_flag) * share,
        )

    @property
    def final(self) -> tuple[float, float]:
        """The last entry's pair: where the schedule ends up."""
        last = self.entries[-1]
        return last.goal, last.red_flag


def targets_instant(window_kind: str, span: tuple[int, int], at: float) -> float:
    """The instant whose pair applies: the window's last second (calendar, tumbling) or ``at`` (rolling)."""
    return at if window_kind == "rolling" else span[1] - 1


def _midnight(day: date, zone: ZoneInfo) -> int:
    """Local midnight of ``day`` as epoch seconds, the way calendar periods start (``windows.Calendar``)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())
