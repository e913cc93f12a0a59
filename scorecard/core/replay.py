"""Batch replay: feed an event file through the engine, in file order, and evaluate the scorecard at any time.

The replay is the reference the live stream is checked against, so it does nothing of its own: every decision is
``Engine.process_raw`` on one ``UnitState`` per unit, exactly what a Faust worker calls on its table records. File
order plays the part of arrival order. Buckets are never expired here, so the result can be evaluated at any time
(``ReplayResult.evaluate(at)``), not only at the end; remembered event ids beyond the dedupe horizon are forgotten
every ``FORGET_EVERY`` lines (``Engine.forget_ids``, which never changes an outcome), so memory follows the number of
buckets rather than the length of the file.

Blank lines (and a final newline) are skipped and not counted; any other line is an event, counted under one
outcome. Line numbers are 1-based physical lines, blank ones included, so they match an editor.

Received time: the stream judges ``time_in_future`` against each Kafka record's timestamp; a file has no such time,
so the replay takes one, ``received_at``, for every line (``scorecard replay --received-at``, by default the wall
clock of the run). Without it (None) the check is skipped.

Memory stays bounded whatever the input: the invalid lines kept in ``ReplayResult.invalid`` are the first
``max_invalid`` (the counts stay exact, and ``on_invalid`` hears of every one, e.g. to write them to a file as they
come), and their details are bounded (``scorecard.core.events``). ``scorecard.core.lines.read_lines`` bounds each line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from scorecard.core.aggregates import State
from scorecard.core.dedupe import ReplayIds
from scorecard.core.definition import Scorecard
from scorecard.core.engine import OUTCOMES, BucketKey, Engine, EngineStats, Outcome, UnitState
from scorecard.core.evaluation import evaluate
from scorecard.core.hierarchy import OrgTree

__all__ = ["MAX_INVALID", "InvalidLine", "ReplayResult", "invalid_line_json", "invalid_lines_jsonl", "replay"]

# How often (in lines) the progress callback hears from the replay: rare enough to cost nothing per event.
PROGRESS_EVERY = 10_000
# How often (in lines) ids beyond the dedupe horizon are forgotten: a scan of every remembered id, so not too often.
FORGET_EVERY = 100_000
# Invalid lines kept in the result (each at most about 1.3 KB: line number, bounded id and detail).
MAX_INVALID = 1000


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """An invalid event: where it was in the file, its id when it had one, and why it was refused."""

    line: int
    event_id: str | None
    reason: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "id": self.event_id, "reason": self.reason, "detail": self.detail}

    def format(self) -> str:
        return f"line {self.line}: {self.reason}: {self.detail}"


@dataclass
class ReplayResult:
    """What a replay leaves behind: the per-unit records, the outcome counts and the invalid lines."""

    scorecard: Scorecard
    tree: OrgTree
    states: dict[str, UnitState]
    counts: dict[str, int]
    invalid: list[InvalidLine] = field(default_factory=list)
    stats: EngineStats = field(default_factory=EngineStats)
    requested_at: float | None = None

    @property
    def invalid_cut(self) -> bool:
        """True when more lines were invalid than ``invalid`` keeps."""
        return self.counts.get("invalid", 0) > len(self.invalid)

    @property
    def newest(self) -> float | None:
        """Newest accepted event time: every unit's stream time is the newest of its own accepted events."""
        times = [s.stream_time for s in self.states.values() if s.stream_time is not None]
        return max(times) if times else None

    @property
    def at(self) -> float | None:
        """The time the scorecard is evaluated at by default: the requested one, else the newest accepted event."""
        return self.requested_at if self.requested_at is not None else self.newest

    def own_states(self) -> dict[str, dict[BucketKey, State]]:
        return {unit: state.aggregates for unit, state in self.states.items()}

    def evaluate(self, at: float | None = None) -> dict[str, Any]:
        """The JSON report at ``at`` (default ``self.at``); ValueError when there is no time to evaluate at."""
        when = at if at is not None else self.at
        if when is None:
            raise ValueError("no accepted event to take the evaluation time from; give one (--at)")
        return evaluate(self.scorecard, self.tree, self.own_states(), when, self.counts)


def replay(
    scorecard: Scorecard,
    lines: Iterable[bytes | str],
    at: float | None = None,
    *,
    received_at: float | None = None,
    progress: Callable[[int], None] | None = None,
    max_invalid: int = MAX_INVALID,
    on_invalid: Callable[[InvalidLine], None] | None = None,
) -> ReplayResult:
    """Process every line in order through one ``Engine``; ``progress(lines_done)`` is called now and then.

    ``at`` does not filter anything (every event is processed, as the stream would); it is only remembered as the
    default evaluation time of the result. ``received_at`` is the time every line counts as received (epoch
    seconds; None: no ``time_in_future`` check). The first ``max_invalid`` invalid lines are kept in the result;
    ``on_invalid`` is called with every one, in file order.
    """
    engine = Engine(scorecard)
    states = {unit: UnitState(seen=ReplayIds()) for unit in engine.tree.units}  # never stored: plain ids
    counts = dict.fromkeys(OUTCOMES, 0)
    invalid: list[InvalidLine] = []
    process = engine.process_raw
    state_of = states.__getitem__
    invalid_outcome = Outcome.INVALID
    number = 0
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        result = process(state_of, raw, received_at)
        outcome = result.outcome
        counts[outcome] += 1
        if outcome is invalid_outcome:
            error = result.error
            assert error is not None
            item = InvalidLine(number, error.event_id, error.reason.value, error.detail)
            if len(invalid) < max_invalid:
                invalid.append(item)
            if on_invalid is not None:
                on_invalid(item)
        if number % PROGRESS_EVERY == 0:
            if progress is not None:
                progress(number)
            if number % FORGET_EVERY == 0:
                for state in states.values():
                    engine.forget_ids(state)
    if progress is not None:
        progress(number)
    return ReplayResult(
        scorecard=scorecard,
        tree=engine.tree,
        states=states,
        counts={outcome.value: n for outcome, n in counts.items()},
        invalid=invalid,
        stats=engine.stats,
        requested_at=at,
    )


def invalid_lines_jsonl(invalid: Iterable[InvalidLine]) -> bytes:
    """Invalid events as JSON Lines (line, id, reason, detail): the ``--errors`` file's format."""
    return b"".join(invalid_line_json(item) for item in invalid)


def invalid_line_json(item: InvalidLine) -> bytes:
    """One line of the ``--errors`` file, newline included."""
    return orjson.dumps(item.to_json(), option=orjson.OPT_APPEND_NEWLINE)
