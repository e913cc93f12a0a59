"""The scorecard definition file (YAML, format version 1): its model, its validation and its balance lint.

A definition is written by people and read by a long-running stream; a mistake found at start-up costs a line in
a terminal, the same mistake found at run time costs a wrong number on a dashboard. So validation is thorough and
talks like a reviewer: one message per problem, naming the field path (``kpis[2].window.size``), the YAML line and
what is expected, and it reports *every* problem of the file in one go rather than the first one.

Public API
----------
- ``load_scorecard(path) -> Scorecard``: read a YAML file and validate it.
- ``parse_scorecard(text, source_name="<string>") -> Scorecard``: the same from text.
- ``validate_scorecard(data, source_name="<data>", lines=None) -> Scorecard``: the same from already-parsed data
  (``lines`` maps field paths such as ``("kpis", 2, "window")`` to 1-based line numbers).
- ``DefinitionError(problems, source="")``: raised by the three above; ``.problems`` is a list of ``Problem`` and
  ``str(error)`` lists them all.
- ``Problem(path, message, line=None)``: one finding; ``problem.format(source)`` renders
  ``source:line: path: message``.
- ``lint_balance(scorecard) -> list[Problem]``: balance warnings on a valid scorecard (see its docstring).
- ``Scorecard`` lookups (``KeyError`` on unknown ids): ``kpi(id)``, ``unit(id)``, ``objective(id)``,
  ``perspective(id)``, ``targets_for(kpi_id, unit_id) -> (goal, red_flag) | None`` (override, else KPI default,
  else None), ``perspective_of(kpi_id) -> Perspective | None``, ``kpis_of(perspective_id) -> tuple[Kpi, ...]``,
  ``line_of(path) -> int | None``, ``tz -> ZoneInfo``. ``Kpi.polarity`` is ``"higher_is_better"``,
  ``"lower_is_better"`` or None; ``Kpi.event_types`` lists the events a KPI reads. The org tree's navigation
  (ancestors, post-order...) is ``scorecard.core.hierarchy.OrgTree``.
- Models (pydantic, frozen, unknown keys forbidden): ``Scorecard``, ``Perspective``, ``Unit``, ``Objective``,
  ``Kpi``, ``EventSource``, ``RatioTerm``, ``Target``, ``TumblingWindow``, ``CalendarWindow``, ``RollingWindow``
  (``Window`` is their union), ``ExportPolicy``. ``CLASSIC_PERSPECTIVES`` is the default perspective list.

Durations are stored as whole seconds (``TumblingWindow.size == 86400``); ``describe()`` on windows and
``scorecard.core.timeutil.format_duration`` render them back (``1d``). After loading, every KPI has its ``lateness``
filled (its own, else the file's) and every ratio KPI its ``multiplier`` (default 1); non-ratio KPIs keep
``multiplier=None``.

How validation works
--------------------
Pydantic checks the structure (types, unknown keys, required keys) and its errors are translated into path
messages. It validates each section and each list item *separately*, so one broken KPI does not hide the problems
of the others nor the cross-reference checks, which are plain functions run on whatever validated (a KPI that failed
is re-checked with its broken keys left out, so its other mistakes are reported too). Duplicate ids
and references are checked against the raw ids (an objective with a typo elsewhere is still a known objective),
so a single mistake yields a single message instead of a cascade. Line numbers come from the YAML node marks,
recorded per path while walking the node tree (before construction, so keys brought in by a ``<<`` merge are not
duplicates of the keys that override them); a path with no node of its own (a missing key, a merged one) gets the
line of its closest existing parent. YAML is read with libyaml's parser when PyYAML has it (faster, see
docs/benchmarks.md) and PyYAML's own composer, bounded as below; suggestions ("did you mean") are computed within a
fixed budget of comparisons per file, so thousands of wrong references cost linear time (the later ones go without
a suggestion).

Limits
------
A definition is read by every worker, exporter and command at start-up, so no file may make the loader exhaust
time, memory or the stack, and nothing it accepts may fail later in the engine. Each limit is a problem with its
``file:line: path`` like any other:

- the file: at most ``MAX_FILE_BYTES`` (2 MiB, some 200 times the ACME example; never read further than that);
- nesting: at most ``MAX_NESTING`` (100) levels of YAML collections, checked while composing (PyYAML's composer
  recurses) and again with aliases expanded; at most ``MAX_NODES`` (500,000) values once aliases are expanded,
  which stops "billion laughs" files and bounds every later walk;
- the org tree: at most ``MAX_ORG_DEPTH`` (32) levels below its root (every event updates each unit above its
  own), checked on the raw data before pydantic validates the nested units recursively;
- windows: a tumbling or rolling size at most 104w (``windows.MAX_WINDOW_SECONDS``, 728 days: with events in years
  1000-9997, longer windows would end after year 9999); a rolling window at most 1,000 buckets
  (``windows.MAX_BUCKETS_PER_WINDOW``, size / step: a unit's record holds two windows of buckets per KPI); all
  KPIs together at most 20,000 buckets per unit (``windows.MAX_BUCKETS_PER_UNIT``; tumbling and calendar count 1);
- ``lateness`` at most ``MAX_LATENESS`` and ``dedupe`` at most ``MAX_DEDUPE`` (1095d, 3 years: plenty for late
  deliveries and producer retries, and every expiry horizon stays a valid date for every event time); a duration
  of more than 12 digits is refused before it is converted;
- ids (of units, KPIs, objectives, perspectives) must not start with ``RESERVED_ID_PREFIX`` (``__``): the pipeline
  keys its own records that way (``__invalid__`` counts invalid events).

Choices made on points the format leaves open
---------------------------------------------
- ``field`` is *rejected* with ``count`` (which counts events) rather than ignored; ``multiplier`` is rejected
  outside ``ratio``; ``source`` is rejected on ratio KPIs, ``numerator``/``denominator`` on the others.
- ``objective`` is optional on a KPI (``lint_balance`` warns) so that a KPI can be drafted before it is placed.
- A ``targets`` entry must give both ``goal`` and ``red_flag``; targets must share the polarity of the KPI default,
  and, when there is no default, of each other. ``Kpi.polarity`` comes from the default, else from the targets.
- NPS goals must lie in [-100, 100] and count goals must be >= 0: anything else can never be reached.
- ``lateness`` and ``max_ahead`` may be ``0``; window sizes and ``dedupe`` must be positive (and within the limits
  above; ``max_ahead`` at most ``MAX_LATENESS`` too).
- Defaults: ``timezone: UTC``, ``lateness: 1h``, ``dedupe: 24h``, ``max_ahead: 1h`` (how far after its receipt an
  event may be timed), ``limits: {event_bytes: 1048576, event_depth: 32}``, ``export: {max_depth: null}`` (export all),
  the four classic perspectives with weight 1. Optional extras: ``version: 1`` and a top-level ``description``.
- Duplicate keys in a YAML mapping are reported (PyYAML would silently keep the last one).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    Strict,
    StringConstraints,
    ValidationError,
)

from scorecard.core.events import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, MAX_DEPTH_CAP
from scorecard.core.timeutil import DurationRangeError, format_duration, parse_duration, short_value
from scorecard.core.windows import MAX_BUCKETS_PER_UNIT, MAX_BUCKETS_PER_WINDOW, MAX_WINDOW_SECONDS, smallest_step

__all__ = [
    "AGGREGATIONS",
    "CLASSIC_PERSPECTIVES",
    "MAX_DEDUPE",
    "MAX_FILE_BYTES",
    "MAX_LATENESS",
    "MAX_NESTING",
    "MAX_NODES",
    "MAX_ORG_DEPTH",
    "RESERVED_ID_PREFIX",
    "CalendarWindow",
    "DefinitionError",
    "EventSource",
    "ExportPolicy",
    "Kpi",
    "Limits",
    "Objective",
    "Perspective",
    "Problem",
    "RatioTerm",
    "RollingWindow",
    "Scorecard",
    "Target",
    "TumblingWindow",
    "Unit",
    "Window",
    "lint_balance",
    "load_scorecard",
    "parse_scorecard",
    "validate_scorecard",
]

Loc = tuple[str | int, ...]
Polarity = Literal["higher_is_better", "lower_is_better"]
Aggregation = Literal["sum", "count", "avg", "min", "max", "nps", "ratio"]
AGGREGATIONS: tuple[str, ...] = typing.get_args(Aggregation)
ID_PATTERN = r"^[a-z0-9_-]+$"
RESERVED_ID_PREFIX: Final = "__"
"""Ids starting with it are the pipeline's own keys (``__invalid__`` counts invalid events); no definition id may."""

# Limits of the loader (see the module docstring); each gives a ``file:line: path: message`` problem.
MAX_FILE_BYTES: Final = 2 * 2**20
MAX_NESTING: Final = 100
MAX_NODES: Final = 500_000
MAX_ORG_DEPTH: Final = 32
MAX_LATENESS: Final = 1095 * 86400
MAX_DEDUPE: Final = 1095 * 86400
# "did you mean" compares a wrong reference with every candidate; past this many comparisons in one file (a file
# with thousands of wrong references to thousands of units) the remaining messages go without a suggestion.
_SUGGESTION_BUDGET: Final = 100_000

# What the event field holds, per aggregation that needs one; used to say *why* a field is required.
_FIELD_ROLE = {
    "sum": "the amount to add up",
    "avg": "the value to average",
    "min": "the value to take the minimum of",
    "max": "the value to take the maximum of",
    "nps": "the 0-10 survey score",
}
_NPS_RANGE = (-100.0, 100.0)
_ZERO_DURATION = re.compile(r"^\s*0+\s*[smhdw]?\s*$")


# --------------------------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """One finding in a definition: where (field path and YAML line) and what is expected."""

    path: str
    message: str
    line: int | None = None

    def format(self, source: str = "") -> str:
        """Render as ``source:line: path: message``, leaving out the parts that are unknown."""
        where = ":".join(part for part in (source, str(self.line) if self.line else "") if part)
        return ": ".join(part for part in (where, self.path, self.message) if part)

    def __str__(self) -> str:
        return self.format()


class DefinitionError(ValueError):
    """A definition that cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = [f"{count} in {source or 'the scorecard definition'}:"]
        lines += [problem.format(source) for problem in problems]
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------------------------------------------
# Field types


def _duration(value: object) -> int:
    # parse_duration checks the type itself and says what it expected.
    return parse_duration(cast("str | int", value))


def _at_most(value: object, limit: int, what: str, why: str) -> int:
    """A positive duration no longer than ``limit``; the message names the limit and why it exists."""
    try:
        seconds: int | None = _duration(value)
    except DurationRangeError:  # more digits than any duration: the same answer as any other too-long one
        seconds = None
    if seconds is None or seconds > limit:
        got = format_duration(seconds) if seconds is not None else short_value(value)
        raise ValueError(f"expected {what} of at most {format_duration(limit)}{why.format(got=got)}")
    return seconds


def _window_length(value: object) -> int:
    """A window size or step: short enough to be computed for every event time (years 1000-9997)."""
    return _at_most(
        value,
        MAX_WINDOW_SECONDS,
        "a window",
        " (728 days), got {got}: a longer window would end after year 9999 for the latest events; for a yearly value"
        " use {{kind: calendar, period: year}}",
    )


def _grace(value: object) -> int:
    """Lateness may be zero (no grace at all), which window sizes may not; at most MAX_LATENESS."""
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return 0
    if isinstance(value, str) and _ZERO_DURATION.match(value):
        return 0
    why = " (3 years), got {got}; an event that late is a producer's mistake, not a late delivery"
    return _at_most(value, MAX_LATENESS, "a lateness", why)


def _ahead(value: object) -> int:
    """``max_ahead`` may be zero (no event timed after its receipt); at most MAX_LATENESS, like a lateness."""
    if (isinstance(value, int) and not isinstance(value, bool) and value == 0) or (
        isinstance(value, str) and _ZERO_DURATION.match(value)
    ):
        return 0
    why = " (3 years), got {got}; producers' clocks are minutes off, not years"
    return _at_most(value, MAX_LATENESS, "a max_ahead", why)


def _dedupe(value: object) -> int:
    why = " (3 years), got {got}; producers resend within minutes or days, not years"
    return _at_most(value, MAX_DEDUPE, "a dedupe horizon", why)


def _not_reserved(value: str) -> str:
    if value.startswith(RESERVED_ID_PREFIX):
        raise ValueError(
            f"ids starting with {RESERVED_ID_PREFIX!r} are reserved for the pipeline's own keys (invalid events are"
            f" counted under '__invalid__'), got {_show(value)}; remove the leading underscores"
        )
    return value


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown timezone {name!r}; expected an IANA name like UTC or Europe/Paris"
            + _did_you_mean(name, available_timezones())
        ) from None
    return name


def _scalar(value: object) -> str | int | float | bool:
    """`where` conditions compare with ==, which only means something for scalars."""
    if isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"expected a string, number or boolean to compare with, got {_show(value)}")


Id = Annotated[str, Strict(), StringConstraints(pattern=ID_PATTERN), AfterValidator(_not_reserved)]
Text = Annotated[str, Strict(), StringConstraints(min_length=1)]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Positive = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]
WindowLength = Annotated[int, BeforeValidator(_window_length)]
Grace = Annotated[int, BeforeValidator(_grace)]
Ahead = Annotated[int, BeforeValidator(_ahead)]
Dedupe = Annotated[int, BeforeValidator(_dedupe)]
Scalar = Annotated[str | int | float | bool, PlainValidator(_scalar)]
TimezoneName = Annotated[str, Strict(), AfterValidator(_timezone)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------------------
# Models


class Perspective(_Model):
    """A Kaplan & Norton perspective; its weight is its share in the unit's overall score."""

    id: Id
    name: Text | None = None
    weight: Positive = 1.0
    description: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.id


CLASSIC_PERSPECTIVES: tuple[Perspective, ...] = (
    Perspective(id="financial", name="Financial"),
    Perspective(id="customer", name="Customer"),
    Perspective(id="internal_process", name="Internal Process"),
    Perspective(id="learning_growth", name="Learning & Growth"),
)


class Unit(_Model):
    """A node of the org tree; ``weight`` is its weight in its parent's score."""

    id: Id
    name: Text | None = None
    weight: Positive = 1.0
    owner: Text | None = None
    description: str | None = None
    children: tuple[Unit, ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.id


class Objective(_Model):
    """A strategic objective; it places its KPIs in a perspective."""

    id: Id
    perspective: Id
    name: Text | None = None
    owner: Text | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.id


class EventSource(_Model):
    """Which events feed a KPI: their type, the field to aggregate, and equality filters (all must match)."""

    event: Text
    field: Text | None = None
    where: dict[str, Scalar] = Field(default_factory=dict)


class RatioTerm(_Model):
    """The numerator or denominator of a ratio KPI; only sum and count keep the ratio of totals meaningful."""

    event: Text
    aggregation: Literal["sum", "count"]
    field: Text | None = None
    where: dict[str, Scalar] = Field(default_factory=dict)


class Target(_Model):
    """A goal / red-flag pair overriding the KPI default for one unit."""

    goal: Number | None = None
    red_flag: Number | None = None

    @property
    def polarity(self) -> Polarity | None:
        return _polarity(self.goal, self.red_flag)


class TumblingWindow(_Model):
    """Back-to-back buckets of ``size`` seconds, aligned to the Unix epoch so every worker cuts them alike."""

    kind: Literal["tumbling"]
    size: WindowLength

    def describe(self) -> str:
        return f"tumbling {format_duration(self.size)}"


class CalendarWindow(_Model):
    """Period-to-date in the scorecard timezone (weeks start on Monday): what people mean by "this month"."""

    kind: Literal["calendar"]
    period: Literal["day", "week", "month", "quarter", "year"]

    def describe(self) -> str:
        return f"calendar {self.period}"


class RollingWindow(_Model):
    """The last ``size`` seconds, advanced every ``step``; kept as ``size // step`` step buckets."""

    kind: Literal["rolling"]
    size: WindowLength
    step: WindowLength

    @property
    def buckets(self) -> int:
        return self.size // self.step

    def describe(self) -> str:
        return f"rolling {format_duration(self.size)} every {format_duration(self.step)}"


Window = Annotated[TumblingWindow | CalendarWindow | RollingWindow, Field(discriminator="kind")]


class Kpi(_Model):
    """A measure, its window, and how good is good (goal) and how bad is alarming (red_flag)."""

    id: Id
    name: Text | None = None
    description: str | None = None
    owner: Text | None = None
    objective: Id | None = None
    unit: str | None = None
    aggregation: Aggregation
    source: EventSource | None = None
    numerator: RatioTerm | None = None
    denominator: RatioTerm | None = None
    multiplier: Positive | None = None
    window: Window
    lateness: Grace | None = None
    goal: Number | None = None
    red_flag: Number | None = None
    targets: dict[str, Target] = Field(default_factory=dict)
    weight: Positive = 1.0

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def default_target(self) -> tuple[float, float] | None:
        """The (goal, red_flag) every unit without an override gets, or None."""
        if self.goal is None or self.red_flag is None:
            return None
        return (self.goal, self.red_flag)

    @property
    def polarity(self) -> Polarity | None:
        """Derived from goal vs red_flag: the default pair, else the (consistent) per-unit targets."""
        found = _polarity(self.goal, self.red_flag)
        for target in self.targets.values():
            found = found or target.polarity
        return found

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types this KPI listens to, so the stream can route events without scanning every KPI."""
        terms = [self.source, self.numerator, self.denominator]
        return tuple(dict.fromkeys(term.event for term in terms if term is not None))


class ExportPolicy(_Model):
    """How deep in the org tree metrics are exported; None exports every unit."""

    max_depth: Annotated[int, Strict(), Field(ge=0)] | None = None


class Limits(_Model):
    """Caps on one event's raw form, part of the definition so that the stream and the replay refuse the same lines
    (``scorecard.core.events.decode_event``): bytes without trailing whitespace, and JSON nesting (the event is
    level 1)."""

    event_bytes: Annotated[int, Strict(), Field(gt=0)] = DEFAULT_MAX_BYTES
    event_depth: Annotated[int, Strict(), Field(ge=2, le=MAX_DEPTH_CAP)] = DEFAULT_MAX_DEPTH


class _Settings(_Model):
    """The scalar top-level keys; validated on their own so that a bad section does not hide them."""

    version: Literal[1] = 1
    name: Text
    description: str | None = None
    timezone: TimezoneName = "UTC"
    lateness: Grace = 3600
    dedupe: Dedupe = 86400
    max_ahead: Ahead = 3600
    export: ExportPolicy = ExportPolicy()
    limits: Limits = Limits()


class Scorecard(_Settings):
    """A validated definition, with O(1) lookups by id.

    Build it with ``load_scorecard``/``parse_scorecard``/``validate_scorecard``: constructing it directly skips the
    cross-reference checks.
    """

    perspectives: tuple[Perspective, ...] = CLASSIC_PERSPECTIVES
    org: Unit
    objectives: tuple[Objective, ...] = ()
    kpis: tuple[Kpi, ...] = Field(min_length=1)

    _perspectives: dict[str, Perspective] = PrivateAttr(default_factory=dict)
    _objectives: dict[str, Objective] = PrivateAttr(default_factory=dict)
    _kpis: dict[str, Kpi] = PrivateAttr(default_factory=dict)
    _units: dict[str, Unit] = PrivateAttr(default_factory=dict)
    _by_perspective: dict[str, tuple[Kpi, ...]] = PrivateAttr(default_factory=dict)
    _lines: dict[Loc, int] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._perspectives = {p.id: p for p in self.perspectives}
        self._objectives = {o.id: o for o in self.objectives}
        self._kpis = {k.id: k for k in self.kpis}
        self._units = {u.id: u for u in _walk_units(self.org)}
        placed: dict[str, list[Kpi]] = {}
        for kpi in self.kpis:
            objective = self._objectives.get(kpi.objective) if kpi.objective is not None else None
            if objective is not None:
                placed.setdefault(objective.perspective, []).append(kpi)
        self._by_perspective = {p: tuple(kpis) for p, kpis in placed.items()}

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def kpi(self, kpi_id: str) -> Kpi:
        return _lookup(self._kpis, kpi_id, "KPI")

    def unit(self, unit_id: str) -> Unit:
        return _lookup(self._units, unit_id, "unit")

    def objective(self, objective_id: str) -> Objective:
        return _lookup(self._objectives, objective_id, "objective")

    def perspective(self, perspective_id: str) -> Perspective:
        return _lookup(self._perspectives, perspective_id, "perspective")

    def targets_for(self, kpi_id: str, unit_id: str) -> tuple[float, float] | None:
        """(goal, red_flag) for a unit: its override, else the KPI default, else None (score from children)."""
        kpi = self.kpi(kpi_id)
        self.unit(unit_id)
        target = kpi.targets.get(unit_id)
        if target is not None and target.goal is not None and target.red_flag is not None:
            return (target.goal, target.red_flag)
        return kpi.default_target

    def perspective_of(self, kpi_id: str) -> Perspective | None:
        """The perspective a KPI counts in, through its objective; None when it has no objective."""
        kpi = self.kpi(kpi_id)
        if kpi.objective is None:
            return None
        return self.perspective(self.objective(kpi.objective).perspective)

    def kpis_of(self, perspective_id: str) -> tuple[Kpi, ...]:
        """The KPIs counting in a perspective, in file order."""
        self.perspective(perspective_id)
        return self._by_perspective.get(perspective_id, ())

    def line_of(self, path: Loc) -> int | None:
        """The YAML line of a field path (or of its closest parent), when the scorecard came from YAML."""
        return _line_of(self._lines, path)


def _lookup(table: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return table[key]
    except KeyError:
        raise KeyError(f"unknown {what} {key!r}") from None


def _walk_units(root: Unit) -> Iterator[Unit]:
    stack = [root]
    while stack:
        unit = stack.pop()
        yield unit
        stack.extend(reversed(unit.children))


def _polarity(goal: float | None, red_flag: float | None) -> Polarity | None:
    if goal is None or red_flag is None or goal == red_flag:
        return None
    return "higher_is_better" if goal > red_flag else "lower_is_better"


# --------------------------------------------------------------------------------------------------------------
# Entry points


def load_scorecard(path: str | Path) -> Scorecard:
    """Read and validate a definition file; raises DefinitionError listing every problem."""
    source = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # never more: the file may be huge, or endless (/dev/zero)
        text = raw.decode("utf-8") if len(raw) <= MAX_FILE_BYTES else None
    except (OSError, UnicodeDecodeError) as err:
        raise DefinitionError([Problem("", f"cannot read the file: {err}")], source) from err
    if text is None:
        raise DefinitionError([_too_large()], source)
    return parse_scorecard(text, source)


def parse_scorecard(text: str, source_name: str = "<string>") -> Scorecard:
    """Validate definition text; ``source_name`` prefixes the messages (usually the file name)."""
    data, lines, problems = _read_yaml(text, source_name)
    return _Checker(data, source_name, lines, problems).run()


def validate_scorecard(data: Any, source_name: str = "<data>", lines: Mapping[Loc, int] | None = None) -> Scorecard:
    """Validate already-parsed data (as ``yaml.safe_load`` returns it)."""
    known = dict(lines or {})
    problem = _shape_problem(data, known)
    if problem is not None:
        raise DefinitionError([problem], source_name)
    return _Checker(data, source_name, known, []).run()


# --------------------------------------------------------------------------------------------------------------
# YAML reading and line numbers


def _too_large() -> Problem:
    return Problem(
        "",
        f"the file is larger than {MAX_FILE_BYTES:,} bytes ({MAX_FILE_BYTES // 2**20} MiB), the most a definition may"
        " be (it bounds the time and memory of every load); remove unused units, targets and descriptions",
    )


def _read_yaml(text: str, source: str) -> tuple[Any, dict[Loc, int], list[Problem]]:
    """Parse once, keeping the node tree for line numbers; YAML errors and limits end the reading with their line.

    Order matters for the limits: the text size is checked first, the nesting depth while composing (the composer
    recurses), then the node tree is walked once, without recursion, for line numbers, duplicate keys, the depth
    and the number of values once aliases are expanded, and only then is it turned into Python data (which shares
    aliased parts, but every later check walks them as a tree).
    """
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise DefinitionError([_too_large()], source)
    loader: Any = _LOADER(text)  # type: ignore[call-arg]
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        problems: list[Problem] = []
        if node is not None:
            _index_lines(node, lines, problems)
        else:
            lines[()] = 1  # an empty document: its problem is at the top of the file
        data = loader.construct_document(node) if node is not None else None
    except _LimitExceeded as err:
        raise DefinitionError([err.problem], source) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        if "maximum nesting depth" in (err.problem or ""):  # libyaml's own limit, met while reading ahead
            raise DefinitionError([_nesting_problem((), line)], source) from None
        kind = "unsupported YAML" if isinstance(err, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise DefinitionError([Problem("", f"{kind}: {_yaml_message(err)}", line)], source) from None
    except yaml.YAMLError as err:  # the reader's errors (control characters) carry a position, not a mark
        position = getattr(err, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        message = str(err).splitlines()[0]
        raise DefinitionError([Problem("", f"YAML syntax error: {message}", line)], source) from None
    finally:
        loader.dispose()
    return data, lines, problems


class _LimitExceeded(Exception):
    """A definition beyond one of the loader's limits; reading stops at once with this problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _nesting_problem(loc: Loc, line: int | None) -> Problem:
    return Problem(
        _render(loc),
        f"nested more than {MAX_NESTING} levels deep (aliases included); a definition needs far fewer (an org tree of"
        f" {MAX_ORG_DEPTH} levels below its root takes {2 * MAX_ORG_DEPTH + 3}): flatten the structure",
        line,
    )


class _BoundedComposer(yaml.composer.Composer):
    """PyYAML's composer (which recurses per level) refusing to go deeper than ``MAX_NESTING`` or to build more than
    ``MAX_NODES`` nodes, so that neither the stack nor the memory grows with what a file asks for."""

    _depth = 0
    _composed = 0
    peek_event: Callable[[], yaml.Event]  # from the parser it is mixed with

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._depth += 1
        self._composed += 1
        try:
            if self._depth > MAX_NESTING:
                raise _LimitExceeded(_nesting_problem((), self._line()))
            if self._composed > MAX_NODES:
                raise _LimitExceeded(_nodes_problem((), self._line()))
            return cast(yaml.Node, super().compose_node(parent, index))
        finally:
            self._depth -= 1

    def _line(self) -> int | None:
        mark = self.peek_event().start_mark
        return mark.line + 1 if mark is not None else None


class _PureLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    _BoundedComposer,
    yaml.constructor.SafeConstructor,
    yaml.resolver.Resolver,
):
    """``yaml.SafeLoader`` with the bounded composer."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _BoundedComposer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _FastLoader(_BoundedComposer, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml's parser (its events) with the bounded composer in Python, which keeps the limits (libyaml's own
        composer cannot be bounded); the parser is where libyaml saves the time (bench/bench_definition.py)."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _LOADER: type[_BoundedComposer] = _FastLoader
else:  # pragma: no cover - PyYAML's wheels ship libyaml
    _LOADER = _PureLoader


def _yaml_message(err: yaml.MarkedYAMLError) -> str:
    message = err.problem or "invalid YAML"
    if err.context and err.context_mark is not None:
        message += f" ({err.context} at line {err.context_mark.line + 1})"
    return message


def _index_lines(root: yaml.Node, lines: dict[Loc, int], problems: list[Problem]) -> None:
    """Record the line of every path and report duplicate mapping keys, walking the tree as aliases expand it.

    The walk is iterative and bounded: deeper than ``MAX_NESTING`` or more than ``MAX_NODES`` values (an alias
    counts as many values as it stands for) stops the reading, so a "billion laughs" file costs a fraction of a
    second instead of all the memory. An alias pointing back into itself is visited once and not descended into.
    """
    visited = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, Loc] | int] = [(root, ())]
    while stack:
        item = stack.pop()
        if isinstance(item, int):  # leaving a collection
            on_path.discard(item)
            continue
        node, loc = item
        line = node.start_mark.line + 1
        lines.setdefault(loc, line)
        visited += 1
        if visited > MAX_NODES:
            raise _LimitExceeded(_nodes_problem(loc, line))
        if len(loc) >= MAX_NESTING:
            raise _LimitExceeded(_nesting_problem(loc, line))
        if id(node) in on_path or not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            continue
        on_path.add(id(node))
        stack.append(id(node))
        children: list[tuple[yaml.Node, Loc]] = []
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = _key_text(key_node)
                child = (*loc, key)
                key_line = key_node.start_mark.line + 1
                if key in first_line and key != "<<":
                    problems.append(
                        Problem(
                            _render(child),
                            f"duplicate key {key!r} (first at line {first_line[key]}); YAML would keep only the last"
                            " one",
                            key_line,
                        )
                    )
                first_line.setdefault(key, key_line)
                lines.setdefault(child, key_line)
                children.append((value_node, child))
        else:
            children = [(item_node, (*loc, index)) for index, item_node in enumerate(node.value)]
        stack.extend(reversed(children))


def _key_text(node: yaml.Node) -> str:
    """A mapping key as a path part; a collection used as a key (which the constructor refuses) gets a placeholder."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "<a collection as key>"


def _nodes_problem(loc: Loc, line: int | None) -> Problem:
    return Problem(
        _render(loc),
        f"the definition holds more than {MAX_NODES:,} values once its YAML aliases are expanded (an alias counts as"
        " everything it stands for); use fewer or smaller aliases",
        line,
    )


def _shape_problem(data: Any, lines: Mapping[Loc, int]) -> Problem | None:
    """``_index_lines``'s limits for data that did not come from our YAML reader: depth and values, iteratively."""
    visited = 0
    on_path: set[int] = set()
    stack: list[tuple[Any, Loc] | int] = [(data, ())]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            on_path.discard(item)
            continue
        value, loc = item
        visited += 1
        if visited > MAX_NODES:
            return _nodes_problem(loc, _line_of(lines, loc))
        if len(loc) >= MAX_NESTING:
            return _nesting_problem(loc, _line_of(lines, loc))
        if id(value) in on_path or not isinstance(value, dict | list | tuple):
            continue
        on_path.add(id(value))
        stack.append(id(value))
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        stack.extend((child, (*loc, key if isinstance(key, int | str) else str(key))) for key, child in pairs)
    return None


def _line_of(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


_ID_RE = re.compile(ID_PATTERN)
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _render(loc: Loc) -> str:
    """``("kpis", 2, "window", "size")`` -> ``kpis[2].window.size``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


# --------------------------------------------------------------------------------------------------------------
# Validation


_SECTIONS = ("perspectives", "org", "objectives", "kpis")
M = TypeVar("M", bound=BaseModel)


class _Checker:
    """Runs every check on one definition and collects the problems."""

    def __init__(self, data: Any, source: str, lines: dict[Loc, int], problems: list[Problem]) -> None:
        self.data = data
        self.source = source
        self.lines = lines
        self.problems = problems
        self.suggest = _Suggester()

    def report(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(_render(loc), message, _line_of(self.lines, loc)))

    def fail(self) -> DefinitionError:
        ordered = sorted(self.problems, key=lambda p: p.line if p.line is not None else 1 << 30)
        return DefinitionError(ordered, self.source)

    def run(self) -> Scorecard:
        if not isinstance(self.data, dict):
            expected = "a mapping with name, org, objectives and kpis"
            self.report((), f"expected {expected} at the top of the file, got {_show(self.data)}")
            raise self.fail()
        settings = self.model(_Settings, {k: v for k, v in self.data.items() if k not in _SECTIONS}, ())
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
            kpis=tuple(_resolve(kpi, settings.lateness) for _, kpi in kpis),
        )
        scorecard._lines = self.lines
        return scorecard

    # -- structure

    def model(self, model: type[M], value: Any, loc: Loc) -> M | None:
        try:
            return model.model_validate(value)
        except ValidationError as err:
            for error in err.errors(include_url=False):
                self.report(*_translate(error, loc, self.data))
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
            self.report((key,), f"expected a list of {what}s, got {_show(raw)}")
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
                where = _render(first[item_id])
                line = _line_of(self.lines, first[item_id])
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
        self.report(loc, f"unknown {what} {_show(value)}; {expected}{self.suggest(value, known)}")

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
        for rule in (_shape_problems, _window_problems, _goal_problems):
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


def _resolve(kpi: Kpi, lateness: int) -> Kpi:
    """Fill what a KPI inherits, so the stream never has to look at the defaults again."""
    update: dict[str, Any] = {}
    if kpi.lateness is None:
        update["lateness"] = lateness
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
    if not isinstance(window, RollingWindow):
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


def _bucket_count(window: TumblingWindow | CalendarWindow | RollingWindow) -> int:
    return window.buckets if isinstance(window, RollingWindow) else 1


def _goal_problems(kpi: Kpi) -> RuleFindings:
    """Goal / red-flag pairs: both or neither, never equal, one polarity, and reachable values."""
    yield from _pair_problems(kpi.goal, kpi.red_flag, ())
    polarity, polarity_from = _polarity(kpi.goal, kpi.red_flag), "the KPI default"
    for unit_id, target in kpi.targets.items():
        loc: Loc = ("targets", unit_id)
        if target.goal is None and target.red_flag is None:
            yield loc, "expected goal and red_flag for this unit, got neither"
        yield from _pair_problems(target.goal, target.red_flag, loc)
        own = target.polarity
        if own is not None and polarity is not None and own != polarity:
            yield (
                loc,
                f"{_words(own)} (goal {target.goal:g}, red_flag {target.red_flag:g}) contradicts {polarity_from},"
                f" which is {_words(polarity)}; a KPI has one direction for every unit",
            )
        elif own is not None and polarity is None:
            polarity, polarity_from = own, f"targets.{unit_id}"
    yield from _range_problems(kpi)


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
    for unit_id, target in kpi.targets.items():
        values += [(("targets", unit_id, "goal"), target.goal), (("targets", unit_id, "red_flag"), target.red_flag)]
    for loc, value in values:
        if value is None:
            continue
        if kpi.aggregation == "nps" and not _NPS_RANGE[0] <= value <= _NPS_RANGE[1]:
            yield loc, f"expected a value between -100 and 100 (the NPS range), got {value:g}"
        if kpi.aggregation == "count" and value < 0:
            yield loc, f"expected a count >= 0, got {value:g}"


def _words(polarity: Polarity) -> str:
    return polarity.replace("_", " ")


# --------------------------------------------------------------------------------------------------------------
# Pydantic error translation


def _translate(error: Mapping[str, Any], prefix: Loc, root: Any) -> tuple[Loc, str]:
    """Turn one pydantic error into (path, message) in the words of the YAML file."""
    raw_loc: Loc = (*prefix, *error["loc"])
    loc = _strip_union_tags(raw_loc, root)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = str(ctx.get("discriminator", "kind")).strip("'")
        expected = ", ".join(_choices(_annotation_at(raw_loc), tag))
        if kind == "union_tag_not_found":
            return (*loc, tag), f"required key missing; expected one of: {expected}"
        return (*loc, tag), f"expected one of: {expected}; got {ctx.get('tag')!r}"
    if kind == "extra_forbidden":
        key = str(raw_loc[-1])
        model = _model_at(raw_loc[:-1])
        allowed = list(model.model_fields) if model is not None else []
        tail = f"{_did_you_mean(key, allowed)}; allowed keys: {', '.join(allowed)}" if allowed else ""
        return loc, f"unknown key {key!r}{tail}"
    return loc, _describe(kind, ctx, value, str(error.get("msg", "")))


def _describe(kind: str, ctx: Mapping[str, Any], value: Any, msg: str) -> str:
    got = f", got {_show(value)}"
    if kind == "missing":
        return "required key missing"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN:
        return f"expected a lowercase id of a-z, 0-9, '_' and '-' (matching {ID_PATTERN}){got}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    fixed = {
        "string_type": "expected text",
        "string_too_short": "expected non-empty text",
        "float_type": "expected a number",
        "int_type": "expected a whole number",
        "int_from_float": "expected a whole number",
        "finite_number": "expected a finite number",
        "bool_type": "expected true or false",
        "model_type": "expected a mapping",
        "model_attributes_type": "expected a mapping",
        "dict_type": "expected a mapping",
        "tuple_type": "expected a list",
        "list_type": "expected a list",
        "too_short": "expected a non-empty list",
    }
    if kind == "recursion_loop":
        return "expected a tree, got a YAML alias that contains itself"
    if kind in fixed:
        return fixed[kind] + got
    if kind in ("greater_than", "greater_than_equal"):
        sign = ">" if kind == "greater_than" else ">="
        bound = ctx.get("gt", ctx.get("ge"))
        return f"expected a number {sign} {bound:g}{got}" if isinstance(bound, int | float) else msg + got
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}{got}"
    return (msg[:1].lower() + msg[1:]) + got


def _strip_union_tags(loc: Loc, root: Any) -> Loc:
    """Pydantic puts the discriminator value in the path (``window.rolling.size``); the file has no such key."""
    out: list[str | int] = []
    node = root
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the value at ``loc`` (pydantic-style, union tags included)."""
    found = _annotation_at(loc)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def _annotation_at(loc: Loc) -> Any:
    current: Any = Scorecard
    for part in loc:
        current = _step(_unwrap(current), part)
        if current is None:
            return None
    return _unwrap(current)


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional; a union of several models becomes a _UnionOf to pick from by tag."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
            return _UnionOf([m for m in members if isinstance(m, type) and issubclass(m, BaseModel)])
        else:
            return annotation


@dataclass(frozen=True)
class _UnionOf:
    models: list[type[BaseModel]]


def _step(annotation: Any, part: str | int) -> Any:
    if isinstance(annotation, _UnionOf):
        return next((m for m in annotation.models if part in _choices(m, "kind")), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (tuple, list) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _choices(model: Any, tag: str) -> list[str]:
    """The literal values a tag field accepts, across a model or a union of models."""
    models = model.models if isinstance(model, _UnionOf) else [model] if model is not None else []
    if not models:
        return []
    values: list[str] = []
    for member in models:
        field = member.model_fields.get(tag)
        if field is not None:
            values += [str(v) for v in typing.get_args(field.annotation)]
    return values


def _show(value: Any) -> str:
    """A value as the YAML author wrote it, short."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _did_you_mean(value: str, choices: Any) -> str:
    options = [str(c) for c in choices]
    lowered = {c.lower(): c for c in options}
    match = lowered.get(value.lower()) or next(iter(difflib.get_close_matches(value, options, n=1, cutoff=0.75)), None)
    return f"; did you mean {match!r}?" if match else ""


class _Suggester:
    """``_did_you_mean`` for the references of one file, at a bounded cost whatever the file.

    Each distinct (value, candidates) pair is answered once; the case-insensitive match uses one index per candidate
    set; and the fuzzy match, which compares the value with every candidate, stops being tried once the file has
    spent ``_SUGGESTION_BUDGET`` comparisons. A few wrong references (every file a person writes) get the same
    messages as ``_did_you_mean``; thousands of wrong references to thousands of units cost linear time instead of
    their product, the later ones going without a suggestion.
    """

    def __init__(self, budget: int = _SUGGESTION_BUDGET) -> None:
        self.budget = budget
        self._answers: dict[tuple[str, int], str] = {}
        self._options: dict[int, tuple[list[str], dict[str, str]]] = {}

    def __call__(self, value: str, choices: set[str]) -> str:
        key = (value, id(choices))
        if key not in self._answers:
            self._answers[key] = self._answer(value, choices)
        return self._answers[key]

    def _answer(self, value: str, choices: set[str]) -> str:
        if id(choices) not in self._options:
            options = [str(c) for c in choices]
            self._options[id(choices)] = (options, {c.lower(): c for c in options})
        options, lowered = self._options[id(choices)]
        match = lowered.get(value.lower())
        if match is None and len(options) <= self.budget:
            self.budget -= len(options)
            match = next(iter(difflib.get_close_matches(value, options, n=1, cutoff=0.75)), None)
        return f"; did you mean {match!r}?" if match else ""


# --------------------------------------------------------------------------------------------------------------
# Balance lint


def lint_balance(scorecard: Scorecard) -> list[Problem]:
    """Warnings about a scorecard that is valid but lopsided; they do not stop the service.

    - a perspective with no KPI: its weight silently counts for nothing;
    - one perspective holding more than half of the *effective* weight, where a perspective's effective weight is
      its ``weight`` if at least one KPI counts in it and 0 otherwise (KPI weights only split a perspective's share
      among its KPIs, so they do not enter this rule); a scorecard with a single live perspective is therefore
      always warned about — a balanced scorecard needs balance;
    - an objective with no KPI: a goal nobody measures;
    - a KPI with no objective: it counts in no perspective, so in no overall score;
    - a tumbling window (or a rolling window's step) of whole weeks: buckets align to the Unix epoch, a Thursday, so
      "weekly" would run Thursday to Wednesday in UTC; a calendar week starts on Monday in the scorecard's timezone.
    """
    warnings: list[Problem] = []

    def warn(loc: Loc, message: str) -> None:
        # Exact paths only: a defaulted perspective has no line, and its parent's line would mislead.
        warnings.append(Problem(_render(loc), message, scorecard._lines.get(loc)))

    counts = {p.id: len(scorecard.kpis_of(p.id)) for p in scorecard.perspectives}
    for index, perspective in enumerate(scorecard.perspectives):
        if not counts[perspective.id]:
            warn(("perspectives", index), f"perspective {perspective.id!r} has no KPI; its weight counts for nothing")
    effective = {p.id: p.weight if counts[p.id] else 0.0 for p in scorecard.perspectives}
    total = sum(effective.values())
    for index, perspective in enumerate(scorecard.perspectives):
        share = effective[perspective.id] / total if total else 0.0
        if share > 0.5:
            warn(
                ("perspectives", index),
                f"perspective {perspective.id!r} holds {share:.0%} of the weight of the perspectives that have KPIs;"
                " more than half makes the scorecard a one-perspective score",
            )
    measured = {k.objective for k in scorecard.kpis}
    for index, objective in enumerate(scorecard.objectives):
        if objective.id not in measured:
            warn(("objectives", index), f"objective {objective.id!r} has no KPI measuring it")
    for index, kpi in enumerate(scorecard.kpis):
        if kpi.objective is None:
            warn(("kpis", index), f"KPI {kpi.id!r} is linked to no objective, so it counts in no perspective")
    week = 7 * 86400
    for index, kpi in enumerate(scorecard.kpis):
        window = kpi.window
        cut = window.size if isinstance(window, TumblingWindow) else getattr(window, "step", None)
        if cut is not None and cut % week == 0:
            warn(
                ("kpis", index, "window"),
                f"KPI {kpi.id!r} cuts its buckets every {format_duration(cut)} from the Unix epoch, so they start on "
                "Thursdays at 00:00 UTC; for weeks from Monday in the scorecard's timezone use "
                "{kind: calendar, period: week}",
            )
    return warnings
