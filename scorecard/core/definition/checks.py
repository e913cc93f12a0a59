"""The checks of a definition beyond its structure: references, ids, the org tree, and the rules of each KPI.

Pydantic checks the structure (types, unknown keys, required keys) and ``messages`` words its errors. ``Checker``
validates each section and each list item *separately*, so one broken KPI does not hide the problems of the others
nor the cross-reference checks, which are plain functions run on whatever validated (a KPI that failed is re-checked
with its broken keys left out, so its other mistakes are reported too). Duplicate ids and references are checked
against the raw ids (an objective with a typo elsewhere is still a known objective), so a single mistake yields a
single message instead of a cascade.

Choices made on points the format leaves open:

- ``field`` is *rejected* with ``count`` (which counts events) rather than ignored; ``multiplier`` is rejected
  outside ``ratio``; ``source`` is rejected on ratio KPIs, ``numerator``/``denominator`` on the others.
- ``objective`` is optional on a KPI (``lint_balance`` warns) so that a KPI can be drafted before it is placed.
- A ``targets`` entry must give both ``goal`` and ``red_flag``; targets must share the polarity of the KPI default,
  and, when there is no default, of each other. ``Kpi.polarity`` comes from the default, else from the targets.
- NPS goals must lie in [-100, 100] and count goals must be >= 0: anything else can never be reached.
- The org tree is at most ``MAX_ORG_DEPTH`` levels below its root (every event updates each unit above its own),
  checked on the raw data before pydantic validates the nested units recursively; a rolling window at most
  ``windows.MAX_BUCKETS_PER_WINDOW`` buckets, all KPIs together at most ``windows.MAX_BUCKETS_PER_UNIT`` per unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from scorecard.core.definition.messages import translate
from scorecard.core.definition.model import (
    CLASSIC_PERSPECTIVES,
    ID_PATTERN,
    PACED_AGGREGATIONS,
    RESERVED_ID_PREFIX,
    CalendarSpec,
    Kpi,
    Objective,
    Perspective,
    Polarity,
    RatioTerm,
    RollingSpec,
    ScheduleStep,
    Scorecard,
    Settings,
    TumblingSpec,
    Unit,
    first_polarity,
    pairs_of,
    polarity_of,
)
from scorecard.core.definition.problems import DefinitionError, Loc, Problem, Suggester, line_of, render_path, show
from scorecard.core.pace import LINEAR, Profile
from scorecard.core.timeutil import format_duration
from scorecard.core.windows import MAX_BUCKETS_PER_UNIT, MAX_BUCKETS_PER_WINDOW, smallest_step

__all__ = ["MAX_ORG_DEPTH", "Checker"]

MAX_ORG_DEPTH: Final = 32

# What the event field holds, per aggregation that needs one; used to say *why* a field is required.
_FIELD_ROLE = {
    "sum": "the amount to add up",
    "avg": "the value to average",
    "min": "the value to take the minimum of",
    "max": "the value to take the maximum of",
    "nps": "the 0-10 survey score",
}
_NPS_RANGE = (-100.0, 100.0)
_ID_RE = re.compile(ID_PATTERN)
_SECTIONS = ("perspectives", "org", "objectives", "kpis")
M = TypeVar("M", bound=BaseModel)


class Checker:
    """Runs every check on one definition and collects the problems."""

    def __init__(self, data: Any, source: str, lines: dict[Loc, int], problems: list[Problem]) -> None:
        self.data = data
        self.source = source
        self.lines = lines
        self.problems = problems
        self.suggest = Suggester()

    def report(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(render_path(loc), message, line_of(self.lines, loc)))

    def fail(self) -> DefinitionError:
        ordered = sorted(self.problems, key=lambda p: p.line if p.line is not None else 1 << 30)
        return DefinitionError(ordered, self.source)

    def run(self) -> Scorecard:
        if not isinstance(self.data, dict):
            expected = "a mapping with name, org, objectives and kpis"
            self.report((), f"expected {expected} at the top of the file, got {show(self.data)}")
            raise self.fail()
        settings = self.model(Settings, {k: v for k, v in self.data.items() if k not in _SECTIONS}, ())
        perspectives, perspective_ids = self.perspectives()
        org, unit_ids = self.org()
        objectives, objective_ids = self.items("objectives", Objective, required=False)
        kpis, _ = self.items("kpis", Kpi, required=True)
        for loc, value in _raw_refs(self.data.get("objectives"), "objectives", "perspective"):
            self.reference(loc, value, perspective_ids, "perspective")
        for loc, value in _raw_refs(self.data.get("kpis"), "kpis", "objective"):
            self.reference(loc, value, objective_ids, "objective")
        for loc, value in _raw_target_units(self.data.get("kpis")):
            self.reference(loc, value, unit_ids, "unit")
        for index, kpi in kpis:
            self.check_kpi(index, kpi)
        for index, partial, broken in _partial_kpis(self.data.get("kpis"), {i for i, _ in kpis}):
            self.check_kpi(index, partial, skip=broken)
        self.check_buckets(kpis)
        if self.problems or settings is None or org is None:
            raise self.fail()
        scorecard = Scorecard(
            **dict(settings),
            perspectives=perspectives,
            org=org,
            objectives=tuple(o for _, o in objectives),
            kpis=tuple(_resolve(kpi, settings.lateness, settings.defaults.pace) for _, kpi in kpis),
        )
        scorecard._lines = self.lines
        return scorecard

    # -- structure

    def model(self, model: type[M], value: Any, loc: Loc) -> M | None:
        try:
            return model.model_validate(value)
        except ValidationError as err:
            for error in err.errors(include_url=False):
                self.report(*translate(error, loc, self.data))
            return None

    def items(self, key: str, model: type[M], *, required: bool) -> tuple[list[tuple[int, M]], set[str] | None]:
        """Validate a list section item by item; also return the raw ids, valid or not, for references."""
        what = key[:-1] if key != "kpis" else "KPI"
        if key not in self.data:
            if required:
                self.report((key,), f"required key missing; expected a list of {what}s")
            return [], (None if required else set())
        raw = self.data[key]
        if not isinstance(raw, list):
            self.report((key,), f"expected a list of {what}s, got {show(raw)}")
            return [], None
        if required and not raw:
            self.report((key,), f"expected at least one {what}, got an empty list")
            return [], None  # references to them are not worth a message each
        ids = self.unique_ids([((key, i), item) for i, item in enumerate(raw)], what)
        valid = [(i, m) for i, item in enumerate(raw) if (m := self.model(model, item, (key, i))) is not None]
        return valid, ids

    def perspectives(self) -> tuple[tuple[Perspective, ...], set[str] | None]:
        if "perspectives" not in self.data:
            return CLASSIC_PERSPECTIVES, {p.id for p in CLASSIC_PERSPECTIVES}
        valid, ids = self.items("perspectives", Perspective, required=True)
        return tuple(p for _, p in valid), ids

    def org(self) -> tuple[Unit | None, set[str] | None]:
        if "org" not in self.data:
            self.report(("org",), "required key missing; expected the root unit: {id, name, children}")
            return None, None
        raw = self.data["org"]
        walk = _walk_raw_org(raw, ("org",))
        ids = self.unique_ids(walk.units, "unit")
        if walk.cyclic:
            return None, ids  # reported as a duplicate id; the structure check would only repeat it
        if isinstance(raw, list):
            self.report(
                ("org",),
                f"expected exactly one root unit (a mapping), got a list of {len(raw)}; nest the units under one root",
            )
            return None, ids
        if walk.too_deep is not None:  # before pydantic, which validates the nested units recursively
            self.report(
                walk.too_deep,
                f"this unit is {MAX_ORG_DEPTH + 1} levels below the root; an org tree may be at most {MAX_ORG_DEPTH}"
                " levels deep (every event updates its unit and each unit above it): attach it higher up",
            )
            return None, ids
        return self.model(Unit, raw, ("org",)), ids

    def unique_ids(self, entries: list[tuple[Loc, Any]], what: str) -> set[str]:
        """Report repeated ids (for units: how a cycle or a unit in two places shows up in a nested tree)."""
        first: dict[str, Loc] = {}
        for loc, item in entries:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            item_id = item["id"]
            if item_id in first:
                where = render_path(first[item_id])
                line = line_of(self.lines, first[item_id])
                at = f"{where}, line {line}" if line else where
                self.report((*loc, "id"), f"duplicate {what} id {item_id!r} (already used at {at}); ids must be unique")
            else:
                first[item_id] = loc
        return set(first)

    # -- cross references and rules

    def reference(self, loc: Loc, value: str, known: set[str] | None, what: str) -> None:
        if known is None or value in known:
            return
        if not known:
            expected = f"no {what} is defined"
        elif len(known) > 20:
            expected = f"expected one of the {len(known)} defined"
        else:
            expected = "expected one of: " + ", ".join(sorted(known))
        self.report(loc, f"unknown {what} {show(value)}; {expected}{self.suggest(value, known)}")

    def check_buckets(self, kpis: list[tuple[int, Kpi]]) -> None:
        """The buckets one window of every KPI needs together, per unit; a window over its own limit has its message."""
        counts = [(index, _bucket_count(kpi.window)) for index, kpi in kpis]
        total = sum(count for _, count in counts)
        if total <= MAX_BUCKETS_PER_UNIT or any(count > MAX_BUCKETS_PER_WINDOW for _, count in counts):
            return
        largest = ", ".join(f"kpis[{i}] ({n:,})" for i, n in sorted(counts, key=lambda c: -c[1])[:3])
        self.report(
            ("kpis",),
            f"the KPIs' windows need {total:,} buckets per unit together (a rolling window size / step, any other 1);"
            f" at most {MAX_BUCKETS_PER_UNIT:,}, which bounds each unit's state and every read of it: use longer"
            f" steps, the largest are {largest}",
        )

    def check_kpi(self, index: int, kpi: Kpi, skip: frozenset[str] = frozenset()) -> None:
        """Run the KPI rules; findings under a key in ``skip`` are dropped (that key already has its message)."""
        loc: Loc = ("kpis", index)
        for rule in (_shape_problems, _window_problems, _goal_problems, _pace_problems):
            for sub, message in rule(kpi):
                if sub[0] not in skip:
                    self.report((*loc, *sub), message)


# Stand-ins for required keys whose value is broken, so the other rules of the KPI can still run.
_STAND_INS: dict[str, Any] = {"id": "stand-in", "window": {"kind": "calendar", "period": "day"}}


def _partial_kpis(raw_kpis: Any, valid: set[int]) -> Iterator[tuple[int, Kpi, frozenset[str]]]:
    """KPIs that failed the structure check, with their broken keys removed (or stood in for), and those keys.

    This is what lets a file with a bad window size *and* a goal without red flag in the same KPI get both messages
    in one run. Without a usable aggregation the rules mean nothing, so such a KPI is skipped.
    """
    for index, item in enumerate(raw_kpis if isinstance(raw_kpis, list) else []):
        if index in valid or not isinstance(item, dict):
            continue
        try:
            Kpi.model_validate(item)
            continue
        except ValidationError as err:
            broken = frozenset(str(e["loc"][0]) for e in err.errors() if e["loc"])
        if "aggregation" in broken:
            continue
        patched = {k: v for k, v in item.items() if k not in broken}
        patched.update({k: v for k, v in _STAND_INS.items() if k in broken})
        try:
            yield index, Kpi.model_validate(patched), broken
        except ValidationError:
            continue


def _resolve(kpi: Kpi, lateness: int, pace: Profile | Literal["none"] | None) -> Kpi:
    """Fill what a KPI inherits, so the stream never has to look at the defaults again.

    The pace: the KPI's own, else for a ``sum`` or ``count`` on a calendar or tumbling window the file's default
    (``defaults.pace``, else ``linear``), else ``none``.
    """
    update: dict[str, Any] = {}
    if kpi.lateness is None:
        update["lateness"] = lateness
    if kpi.pace is None:
        paceable = kpi.aggregation in PACED_AGGREGATIONS and not isinstance(kpi.window, RollingSpec)
        update["pace"] = (pace or LINEAR) if paceable else "none"
    if kpi.aggregation == "ratio" and kpi.multiplier is None:
        update["multiplier"] = 1.0
    return kpi.model_copy(update=update) if update else kpi


def _raw_refs(raw: Any, section: str, key: str) -> Iterator[tuple[Loc, str]]:
    """References read from the raw items, so that an item with another mistake still gets its references checked."""
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        value = item.get(key) if isinstance(item, dict) else None
        # A malformed or reserved id already has its own message from the structure check; don't add "unknown" to it.
        if isinstance(value, str) and _ID_RE.match(value) and not value.startswith(RESERVED_ID_PREFIX):
            yield (section, index, key), value


def _raw_target_units(raw_kpis: Any) -> Iterator[tuple[Loc, str]]:
    for index, item in enumerate(raw_kpis if isinstance(raw_kpis, list) else []):
        targets = item.get("targets") if isinstance(item, dict) else None
        for unit_id in targets if isinstance(targets, dict) else []:
            yield ("kpis", index, "targets", str(unit_id)), str(unit_id)


@dataclass
class _RawOrg:
    """What the checks need from the raw org before pydantic sees it (``_walk_raw_org``)."""

    units: list[tuple[Loc, Any]]
    cyclic: bool = False
    too_deep: Loc | None = None


def _walk_raw_org(raw: Any, loc: Loc) -> _RawOrg:
    """Every unit-looking mapping of the raw org, valid or not, with its path, in file order; without recursion.

    A YAML alias can make a unit its own descendant; it is listed a second time (so it shows up as a duplicate id,
    which is what a cycle is in a nested tree) and not descended into. ``too_deep`` is the first unit more than
    ``MAX_ORG_DEPTH`` levels below the root. The walk is bounded by the loader's limit on values.
    """
    found = _RawOrg([])
    on_path: set[int] = set()
    stack: list[tuple[Any, Loc, int] | int] = [(raw, loc, 0)]
    while stack:
        item = stack.pop()
        if isinstance(item, int):  # leaving a unit
            on_path.discard(item)
            continue
        node, where, depth = item
        if isinstance(node, list):
            stack.extend((child, (*where, i), depth) for i, child in reversed(list(enumerate(node))))
            continue
        if not isinstance(node, dict):
            continue
        found.units.append((where, node))
        if depth > MAX_ORG_DEPTH and found.too_deep is None:
            found.too_deep = where
        if id(node) in on_path:
            found.cyclic = True
            continue
        children = node.get("children")
        if isinstance(children, list):
            on_path.add(id(node))
            stack.append(id(node))
            kids = [(child, (*where, "children", i), depth + 1) for i, child in enumerate(children)]
            stack.extend(reversed(kids))
    return found


RuleFindings = Iterator[tuple[Loc, str]]


def _shape_problems(kpi: Kpi) -> RuleFindings:
    """Which of source / numerator / denominator / multiplier / field the aggregation needs or forbids."""
    aggregation = kpi.aggregation
    if aggregation == "ratio":
        if kpi.source is not None:
            yield ("source",), "not allowed with aggregation 'ratio'; give numerator and denominator instead"
        for part in ("numerator", "denominator"):
            term: RatioTerm | None = getattr(kpi, part)
            if term is None:
                yield (part,), "required with aggregation 'ratio': {event, field?, aggregation: sum|count, where?}"
            else:
                yield from _field_rule(term.aggregation, term.field, (part,))
        return
    for part in ("numerator", "denominator", "multiplier"):
        if getattr(kpi, part) is not None:
            yield (part,), f"only allowed with aggregation 'ratio', not {aggregation!r}"
    if kpi.source is None:
        yield ("source",), f"required with aggregation {aggregation!r}: {{event, field, where?}}"
    else:
        yield from _field_rule(aggregation, kpi.source.field, ("source",))


def _field_rule(aggregation: str, field: str | None, loc: Loc) -> RuleFindings:
    if aggregation in _FIELD_ROLE and field is None:
        yield (
            (*loc, "field"),
            f"required with aggregation {aggregation!r}: the event field holding {_FIELD_ROLE[aggregation]}",
        )
    if aggregation == "count" and field is not None:
        yield (*loc, "field"), "not allowed with aggregation 'count', which counts events; remove it or use sum"


def _window_problems(kpi: Kpi) -> RuleFindings:
    window = kpi.window
    if not isinstance(window, RollingSpec):
        return
    if window.size % window.step:
        yield (
            ("window", "size"),
            f"expected a whole multiple of step ({format_duration(window.step)}), got {format_duration(window.size)}",
        )
    elif window.buckets > MAX_BUCKETS_PER_WINDOW:
        yield (
            ("window", "step"),
            f"expected at most {MAX_BUCKETS_PER_WINDOW:,} buckets per window (size / step), got {window.buckets:,}"
            f" ({window.describe()}): a unit keeps two windows of buckets per KPI; use a step of at least"
            f" {format_duration(smallest_step(window.size))}",
        )


def _bucket_count(window: TumblingSpec | CalendarSpec | RollingSpec) -> int:
    return window.buckets if isinstance(window, RollingSpec) else 1


def _goal_problems(kpi: Kpi) -> RuleFindings:
    """Goal / red-flag pairs and schedules: both or neither, never equal, one polarity, and reachable values."""
    yield from _targets_problems(kpi.goal, kpi.red_flag, kpi.targets_schedule, kpi.interpolate, ())
    polarity = first_polarity(pairs_of(kpi.goal, kpi.red_flag, kpi.targets_schedule))
    polarity_from = "the KPI default"
    for unit_id, target in kpi.targets.items():
        loc: Loc = ("targets", unit_id)
        if target.goal is None and target.red_flag is None and target.targets_schedule is None:
            yield loc, "expected goal and red_flag (or targets_schedule) for this unit, got neither"
        yield from _targets_problems(target.goal, target.red_flag, target.targets_schedule, target.interpolate, loc)
        own = target.polarity
        if own is not None and polarity is not None and own != polarity:
            goal, red_flag = next(p for p in target.pairs if polarity_of(*p) is not None)
            yield (
                loc,
                f"{_words(own)} (goal {goal:g}, red_flag {red_flag:g}) contradicts {polarity_from},"
                f" which is {_words(polarity)}; a KPI has one direction for every unit",
            )
        elif own is not None and polarity is None:
            polarity, polarity_from = own, f"targets.{unit_id}"
    yield from _range_problems(kpi)


def _targets_problems(
    goal: float | None,
    red_flag: float | None,
    steps: tuple[ScheduleStep, ...] | None,
    interpolate: str | None,
    loc: Loc,
) -> RuleFindings:
    """One place's targets: a fixed pair, or a schedule of phases (sorted dates, one direction, goal != red flag)."""
    if steps is None:
        if interpolate is not None:
            yield (*loc, "interpolate"), "only applies to a targets_schedule; remove it or give targets_schedule"
        yield from _pair_problems(goal, red_flag, loc)
        return
    if goal is not None or red_flag is not None:
        yield (
            (*loc, "targets_schedule"),
            "give either goal and red_flag or targets_schedule, not both; a fixed pair is a schedule of one phase",
        )
    if not steps:
        yield (*loc, "targets_schedule"), "expected at least one phase like {from: 2026-01-01, goal: 50, red_flag: 30}"
    direction: tuple[Polarity, int] | None = None
    for index, step in enumerate(steps):
        here: Loc = (*loc, "targets_schedule", index)
        if index and step.start <= steps[index - 1].start:
            yield (
                (*here, "from"),
                f"expected dates in increasing order: {step.start.isoformat()} is not after"
                f" {steps[index - 1].start.isoformat()} (targets_schedule[{index - 1}]); sort the phases by date",
            )
        yield from _pair_problems(step.goal, step.red_flag, here)
        own = polarity_of(step.goal, step.red_flag)
        if own is not None and direction is not None and own != direction[0]:
            yield (
                here,
                f"{_words(own)} (goal {step.goal:g}, red_flag {step.red_flag:g}) flips the direction of"
                f" targets_schedule[{direction[1]}], which is {_words(direction[0])}; a KPI has one direction at"
                " every date",
            )
        elif own is not None and direction is None:
            direction = (own, index)


def _pace_problems(kpi: Kpi) -> RuleFindings:
    """An explicit pace only where a value grows through its period: sum or count, calendar or tumbling window."""
    if kpi.pace is None or kpi.pace == "none":
        return
    if kpi.aggregation not in PACED_AGGREGATIONS:
        yield (
            ("pace",),
            f"only sum and count KPIs can be paced (an {kpi.aggregation} does not grow through its period);"
            " remove it or write pace: none",
        )
    elif isinstance(kpi.window, RollingSpec):
        yield ("pace",), "a rolling window always covers its full size and is not paced; remove it or write pace: none"


def _pair_problems(goal: float | None, red_flag: float | None, loc: Loc) -> RuleFindings:
    if goal is not None and red_flag is None:
        yield (*loc, "red_flag"), "required when goal is given: the score scale runs from red_flag to goal"
    elif red_flag is not None and goal is None:
        yield (*loc, "goal"), "required when red_flag is given: the score scale runs from red_flag to goal"
    elif goal is not None and goal == red_flag:
        yield (
            (*loc, "red_flag"),
            f"equal to goal ({goal:g}); expected a different value: above goal when lower is better, below it when"
            " higher is better",
        )


def _range_problems(kpi: Kpi) -> RuleFindings:
    values: list[tuple[Loc, float | None]] = [(("goal",), kpi.goal), (("red_flag",), kpi.red_flag)]
    for index, step in enumerate(kpi.targets_schedule or ()):
        at: Loc = ("targets_schedule", index)
        values += [((*at, "goal"), step.goal), ((*at, "red_flag"), step.red_flag)]
    for unit_id, target in kpi.targets.items():
        values += [(("targets", unit_id, "goal"), target.goal), (("targets", unit_id, "red_flag"), target.red_flag)]
        for index, step in enumerate(target.targets_schedule or ()):
            at = ("targets", unit_id, "targets_schedule", index)
            values += [((*at, "goal"), step.goal), ((*at, "red_flag"), step.red_flag)]
    for loc, value in values:
        if value is None:
            continue
        if kpi.aggregation == "nps" and not _NPS_RANGE[0] <= value <= _NPS_RANGE[1]:
            yield loc, f"expected a value between -100 and 100 (the NPS range), got {value:g}"
        if kpi.aggregation == "count" and value < 0:
            yield loc, f"expected a count >= 0, got {value:g}"


def _words(polarity: Polarity) -> str:
    return polarity.replace("_", " ")
