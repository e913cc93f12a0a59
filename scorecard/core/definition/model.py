"""The definition's model: pydantic classes for every section, the field types that check each value, and the
``Scorecard`` with its lookups by id.

Durations are stored as whole seconds (``TumblingSpec.size == 86400``); ``describe()`` on windows and
``scorecard.core.timeutil.format_duration`` render them back (``1d``). After loading, every KPI has its ``lateness``
filled (its own, else the file's) and every ratio KPI its ``multiplier`` (default 1); non-ratio KPIs keep
``multiplier=None``. ``Kpi.polarity`` is ``"higher_is_better"``, ``"lower_is_better"`` or None, from the goal and red
flag. The org tree's navigation (ancestors, post-order...) is ``scorecard.core.hierarchy.OrgTree``.

Build a ``Scorecard`` with ``load_scorecard``, ``parse_scorecard`` or ``validate_scorecard`` (``loading``):
constructing it directly skips the cross-reference checks.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Annotated, Any, Final, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

from scorecard.core.definition import alerting
from scorecard.core.definition.problems import Loc, did_you_mean, line_of, show
from scorecard.core.events import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, MAX_DEPTH_CAP
from scorecard.core.pace import DAY_NAMES, LINEAR, Profile, Weekly, parse_hours
from scorecard.core.schedule import Interpolation, Schedule, ScheduleEntry
from scorecard.core.timeutil import DurationRangeError, format_duration, parse_duration, short_value
from scorecard.core.windows import MAX_WINDOW_SECONDS

Polarity = Literal["higher_is_better", "lower_is_better"]
Aggregation = Literal["sum", "count", "avg", "min", "max", "nps", "ratio"]
AGGREGATIONS: tuple[str, ...] = typing.get_args(Aggregation)
ID_PATTERN = r"^[a-z0-9_-]+$"
RESERVED_ID_PREFIX: Final = "__"
"""Ids starting with it are the pipeline's own keys (``__invalid__`` counts invalid events); no definition id may."""

# The longest lateness and dedupe horizon (each gives a ``file:line: path: message`` problem beyond it).
MAX_LATENESS: Final = 1095 * 86400
MAX_DEDUPE: Final = 1095 * 86400
_ZERO_DURATION = re.compile(r"^\s*0+\s*[smhdw]?\s*$")


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
            f" counted under '__invalid__'), got {show(value)}; remove the leading underscores"
        )
    return value


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown timezone {name!r}; expected an IANA name like UTC or Europe/Paris"
            + did_you_mean(name, available_timezones())
        ) from None
    return name


def _scalar(value: object) -> str | int | float | bool:
    """`where` conditions compare with ==, which only means something for scalars."""
    if isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"expected a string, number or boolean to compare with, got {show(value)}")


PACE_WORDS: Final = ("linear", "none")
"""The pace profiles written as one word; a mapping ``{days: [...], hours: "08:00-18:00"}`` is the third form."""
PACED_AGGREGATIONS: Final = ("sum", "count")
"""The aggregations that grow through their period and can therefore be paced."""


def _pace(value: object) -> Profile | Literal["none"]:
    """``linear``, ``none`` (not paced) or ``{days: [mon, ...], hours: "HH:MM-HH:MM"}``, either key optional."""
    if value == "linear":
        return LINEAR
    if value == "none":
        return "none"
    if not isinstance(value, dict):
        raise ValueError(f"expected linear, none or {{days: [mon, tue, ...], hours: '08:00-18:00'}}, got {show(value)}")
    unknown = [str(key) for key in value if key not in ("days", "hours")]
    if unknown:
        raise ValueError(f"unknown key {show(unknown[0])} in a pace profile; allowed keys: days, hours")
    days = value.get("days", list(DAY_NAMES))
    if not isinstance(days, list) or not days or not all(isinstance(d, str) for d in days):
        raise ValueError(f"expected days as a non-empty list of {', '.join(DAY_NAMES)}, got {show(days)}")
    wrong = [d for d in days if d not in DAY_NAMES]
    if wrong:
        raise ValueError(f"unknown day {show(wrong[0])}; expected some of {', '.join(DAY_NAMES)}")
    hours = value.get("hours")
    span = parse_hours(hours) if hours is not None else (0, 1440)
    return Weekly(frozenset(DAY_NAMES.index(d) for d in days), span)


def _schedule_date(value: object) -> date:
    """A local date such as ``2026-10-01`` (YAML reads it as a date; quoted text works too), years 1000-9997."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"expected a date like 2026-10-01, got {show(value)}") from None
    if type(value) is not date:
        raise ValueError(f"expected a date like 2026-10-01, got {show(value)}")
    if not 1000 <= value.year <= 9997:
        raise ValueError(f"expected a date in years 1000-9997 (the range events may have), got {value.isoformat()}")
    return value


Id = Annotated[str, Strict(), StringConstraints(pattern=ID_PATTERN), AfterValidator(_not_reserved)]
Text = Annotated[str, Strict(), StringConstraints(min_length=1)]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Positive = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]
# What the JSON Schema (``scorecard schema``) says of the fields whose validators accept more than their stored type:
# durations are written as text (15m, 1h, 7d, 2w) or whole seconds and stored as seconds.
DURATION_JSON_SCHEMA: Final[dict[str, Any]] = {
    "anyOf": [
        {"type": "string", "minLength": 1, "examples": ["30s", "15m", "1h", "7d", "2w"]},
        {"type": "integer", "minimum": 0},
    ],
    "format": "duration-text",
}
_SCALAR_JSON_SCHEMA: Final[dict[str, Any]] = {"type": ["string", "number", "boolean"]}
_Duration = WithJsonSchema(DURATION_JSON_SCHEMA)
WindowLength = Annotated[int, BeforeValidator(_window_length), _Duration]
Grace = Annotated[int, BeforeValidator(_grace), _Duration]
Ahead = Annotated[int, BeforeValidator(_ahead), _Duration]
Dedupe = Annotated[int, BeforeValidator(_dedupe), _Duration]
Scalar = Annotated[str | int | float | bool, PlainValidator(_scalar), WithJsonSchema(_SCALAR_JSON_SCHEMA)]
TimezoneName = Annotated[str, Strict(), AfterValidator(_timezone)]
_PACE_JSON: Final[dict[str, Any]] = {
    "anyOf": [
        {"enum": list(PACE_WORDS)},
        {
            "type": "object",
            "properties": {
                "days": {"type": "array", "items": {"enum": list(DAY_NAMES)}, "minItems": 1},
                "hours": {"type": "string", "pattern": r"^\s*\d{2}:\d{2}\s*-\s*\d{2}:\d{2}\s*$"},
            },
            "additionalProperties": False,
        },
    ]
}


def _pace_text(value: Profile | Literal["none"]) -> str | dict[str, Any]:
    """A pace as the definition writes it, so a dumped definition loads back to the same pace."""
    if isinstance(value, Weekly):
        start, end = value.hours
        hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
        return {"days": [DAY_NAMES[d] for d in sorted(value.days)], "hours": hours}
    return "none" if value == "none" else "linear"


Pace = Annotated[
    Profile | Literal["none"],
    PlainValidator(_pace),
    PlainSerializer(_pace_text),
    WithJsonSchema(_PACE_JSON, mode="validation"),
]
ScheduleDate = Annotated[
    date,
    PlainValidator(_schedule_date),
    PlainSerializer(date.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date"}, mode="validation"),
]


class _Model(BaseModel):
    # Field docstrings are the fields' descriptions: in the JSON Schema (editor hints) and docs/definition.md.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Perspective(_Model):
    """A Kaplan & Norton perspective; its weight is its share in the unit's overall score."""

    id: Id
    """Id the objectives refer to (lowercase letters, digits, `_` and `-`)."""
    name: Text | None = None
    """Name shown on tables, boards and reports (default: the id)."""
    weight: Positive = 1.0
    """Share of the perspective in a unit's overall score, relative to the other perspectives."""
    description: str | None = None
    """Free text for readers of the definition."""

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
    """Id the events name in their `unit` field, and targets refer to."""
    name: Text | None = None
    """Name shown on tables, boards and reports (default: the id)."""
    weight: Positive = 1.0
    """Weight of this unit's score in its parent's score, relative to its siblings."""
    owner: Text | None = None
    """Who answers for the unit (a team or person)."""
    description: str | None = None
    """Free text for readers of the definition."""
    children: tuple[Unit, ...] = ()
    """Sub-units; a unit with none is a leaf, scored from its own events only."""

    @property
    def label(self) -> str:
        return self.name or self.id


class Objective(_Model):
    """A strategic objective; it places its KPIs in a perspective."""

    id: Id
    """Id the KPIs refer to in their `objective`."""
    perspective: Id
    """Id of the perspective the objective (and its KPIs) counts in."""
    name: Text | None = None
    """Name shown on reports (default: the id)."""
    owner: Text | None = None
    """Who answers for the objective."""
    description: str | None = None
    """Free text for readers of the definition."""

    @property
    def label(self) -> str:
        return self.name or self.id


class EventSource(_Model):
    """Which events feed a KPI: their type, the field to aggregate, and equality filters (all must match)."""

    event: Text
    """Event `type` this KPI reads."""
    field: Text | None = None
    """Key in the event's `fields` holding the number to aggregate (not for `count`)."""
    where: dict[str, Scalar] = Field(default_factory=dict)
    """Only events whose `fields` have all these keys with exactly these values (a boolean only equals a boolean)."""


class RatioTerm(_Model):
    """The numerator or denominator of a ratio KPI; only sum and count keep the ratio of totals meaningful."""

    event: Text
    """Event `type` this side of the ratio reads."""
    aggregation: Literal["sum", "count"]
    """`sum` of `field`, or `count` of the events."""
    field: Text | None = None
    """Key in the event's `fields` holding the number to sum (for `sum`)."""
    where: dict[str, Scalar] = Field(default_factory=dict)
    """Only events whose `fields` have all these keys with exactly these values."""


class ScheduleStep(_Model):
    """One phase of a ``targets_schedule``: the pair in force from local midnight of ``from`` (a date)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, populate_by_name=True)

    start: ScheduleDate = Field(alias="from")
    """Local date (in the scorecard's timezone) from whose midnight this phase is in force, like 2026-10-01."""
    goal: Number
    """Goal of this phase."""
    red_flag: Number
    """Red flag of this phase."""


class _Phased(_Model):
    """A fixed goal / red-flag pair or a ``targets_schedule`` of phases (with ``interpolate: step | linear``)."""

    goal: Number | None = None
    """Value at or beyond which the KPI is green for this unit."""
    red_flag: Number | None = None
    """Value at or beyond which (on the bad side) the KPI is red for this unit."""
    targets_schedule: tuple[ScheduleStep, ...] | None = None
    """Phases of goal and red flag by date, instead of goal and red_flag: [{from: 2026-10-01, goal, red_flag}]."""
    interpolate: Interpolation | None = None
    """How the targets move between phases: step (default) or linear."""

    @property
    def schedule(self) -> Schedule | None:
        """The phases as ``scorecard.core.schedule.Schedule``, or None for a fixed pair."""
        return _schedule_of(self.targets_schedule, self.interpolate)

    @property
    def pairs(self) -> tuple[tuple[float | None, float | None], ...]:
        """Every (goal, red_flag) written here: the fixed pair, or each phase's."""
        return pairs_of(self.goal, self.red_flag, self.targets_schedule)

    @property
    def polarity(self) -> Polarity | None:
        return first_polarity(self.pairs)


class Target(_Phased):
    """A goal / red-flag pair (or a schedule of them) overriding the KPI default for one unit."""


class TumblingSpec(_Model):
    """Back-to-back buckets of ``size`` seconds, aligned to the Unix epoch so every worker cuts them alike."""

    kind: Literal["tumbling"]
    """Back-to-back windows of a fixed size."""
    size: WindowLength
    """Window length (15m, 1h, 1d, 2w, or seconds; at most 104w)."""

    def describe(self) -> str:
        return f"tumbling {format_duration(self.size)}"


class CalendarSpec(_Model):
    """Period-to-date in the scorecard timezone (weeks start on Monday): what people mean by "this month"."""

    kind: Literal["calendar"]
    """Period-to-date in the scorecard timezone."""
    period: Literal["day", "week", "month", "quarter", "year"]
    """The calendar period (weeks start on Monday)."""

    def describe(self) -> str:
        return f"calendar {self.period}"


class RollingSpec(_Model):
    """The last ``size`` seconds, advanced every ``step``; kept as ``size // step`` step buckets."""

    kind: Literal["rolling"]
    """The last `size`, moving every `step`."""
    size: WindowLength
    """Length covered (at most 104w and 1,000 steps)."""
    step: WindowLength
    """How often the window moves; `size` must be a multiple of it."""

    @property
    def buckets(self) -> int:
        return self.size // self.step

    def describe(self) -> str:
        return f"rolling {format_duration(self.size)} every {format_duration(self.step)}"


WindowSpec = Annotated[TumblingSpec | CalendarSpec | RollingSpec, Field(discriminator="kind")]
"""A KPI's window as the definition describes it; ``scorecard.core.windows`` computes its buckets."""


class AlertOptions(_Model):
    """The ``alert:`` section of a KPI: how its two generated alerts (red flag, below goal) differ from the defaults,
    which page nobody. Label and annotation names are Prometheus names the generator does not set itself; values are
    plain text (``alerting`` checks them)."""

    model_config = ConfigDict(populate_by_name=True)

    pending: Annotated[int | None, BeforeValidator(alerting.alert_pending), _Duration] = Field(None, alias="for")
    """How long the status must hold before the alert fires (at most 365d); default: `scorecard rules --for`."""
    severity: Annotated[str, Strict(), AfterValidator(alerting.severity)] = alerting.DEFAULT_RED_SEVERITY
    """The `severity` label of the red-flag alert."""
    below_goal_severity: Annotated[str, Strict(), AfterValidator(alerting.severity)] = (
        alerting.DEFAULT_BELOW_GOAL_SEVERITY
    )
    """The `severity` label of the below-goal (amber) alert."""
    labels: Annotated[dict[str, Text], alerting.names("label", alerting.RESERVED_LABELS)] = Field(default_factory=dict)
    """Extra labels on both alerts (for routing), written as plain text."""
    annotations: Annotated[dict[str, Text], alerting.names("annotation", alerting.RESERVED_ANNOTATIONS)] = Field(
        default_factory=dict
    )
    """Extra annotations on both alerts, written as plain text."""
    runbook_url: Annotated[str | None, Strict(), AfterValidator(alerting.http_url)] = None
    """An absolute http(s) URL: the `runbook_url` annotation of both alerts."""


class Kpi(_Model):
    """A measure, its window, and how good is good (goal) and how bad is alarming (red_flag)."""

    id: Id
    """Id of the KPI: metric label, rule and board name."""
    name: Text | None = None
    """Name shown on tables, boards and reports (default: the id)."""
    description: str | None = None
    """Free text for readers of the definition and the report."""
    owner: Text | None = None
    """Who answers for the KPI."""
    objective: Id | None = None
    """Id of the objective it serves; a KPI without one counts in no perspective."""
    unit: str | None = None
    """Unit of the value (EUR, %, min...), shown next to it and in `scorecard events`."""
    aggregation: Aggregation
    """How events become the value: sum, count, avg, min or max of `source.field`, nps (net promoter score of
    0-10 answers) or ratio (`numerator` / `denominator` x `multiplier`)."""
    source: EventSource | None = None
    """The events and field read (every aggregation but ratio)."""
    numerator: RatioTerm | None = None
    """Top of a ratio KPI."""
    denominator: RatioTerm | None = None
    """Bottom of a ratio KPI."""
    multiplier: Positive | None = None
    """Factor of a ratio KPI (100 for a percentage; default 1)."""
    window: WindowSpec
    """The time span the value covers: tumbling, calendar or rolling."""
    lateness: Grace | None = None
    """How late an event may arrive and still count for this KPI (default: the file's `lateness`)."""
    goal: Number | None = None
    """Default goal of every unit: at or beyond it the KPI is green. Above `red_flag` means higher is better."""
    red_flag: Number | None = None
    """Default red flag of every unit: at or beyond it (on the bad side) the KPI is red."""
    targets_schedule: tuple[ScheduleStep, ...] | None = None
    """Default phases of goal and red flag by date, instead of goal and red_flag: [{from: 2026-10-01, goal, ...}]."""
    interpolate: Interpolation | None = None
    """How the targets move between phases: step (default) or linear."""
    targets: dict[str, Target] = Field(default_factory=dict)
    """Goal and red flag for particular units (by unit id), overriding the defaults."""
    weight: Positive = 1.0
    """Weight of the KPI in its perspective's score, relative to the other KPIs there."""
    alert: AlertOptions = Field(default_factory=lambda: AlertOptions.model_validate({}))
    """How this KPI's alerts fire and what they carry: for, severities, labels, annotations, runbook_url."""
    pace: Pace | None = None
    """How a sum or count is paced through its period: linear, none or {days: [mon, ...], hours: '08:00-18:00'}."""

    @property
    def schedule(self) -> Schedule | None:
        """The default phases (``targets_schedule``) as a ``Schedule``, or None for a fixed pair or none."""
        return _schedule_of(self.targets_schedule, self.interpolate)

    @property
    def pace_profile(self) -> Profile | None:
        """The pace profile this KPI is judged with, None when it is not paced (after loading filled the default)."""
        return None if self.pace is None or self.pace == "none" else self.pace

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def default_target(self) -> tuple[float, float] | None:
        """The (goal, red_flag) every unit without an override gets, or None; for a schedule, its last phase's."""
        schedule = self.schedule
        if schedule is not None:
            return schedule.final
        if self.goal is None or self.red_flag is None:
            return None
        return (self.goal, self.red_flag)

    @property
    def polarity(self) -> Polarity | None:
        """Derived from goal vs red_flag: the default pair (or schedule), else the (consistent) per-unit targets."""
        found = first_polarity(pairs_of(self.goal, self.red_flag, self.targets_schedule))
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
    """Deepest org level exported to Prometheus (0: the root only); null exports every unit."""


class Limits(_Model):
    """Caps on one event's raw form, part of the definition so that the stream and the replay refuse the same lines
    (``scorecard.core.events.decode_event``): bytes without trailing whitespace, and JSON nesting (the event is
    level 1)."""

    event_bytes: Annotated[int, Strict(), Field(gt=0)] = DEFAULT_MAX_BYTES
    """Largest event in bytes (without trailing whitespace); a longer one is invalid (too_large)."""
    event_depth: Annotated[int, Strict(), Field(ge=2, le=MAX_DEPTH_CAP)] = DEFAULT_MAX_DEPTH
    """Deepest JSON nesting of an event (the event object is level 1, `fields` level 2); deeper is invalid
    (too_deep)."""


class Defaults(_Model):
    """File-wide defaults for KPIs: ``pace`` applies to every ``sum`` and ``count`` KPI on a calendar or tumbling
    window that gives none (without it those are ``linear``)."""

    pace: Pace | None = None
    """Pace of every sum and count KPI on a calendar or tumbling window that sets none (default linear)."""


class Settings(_Model):
    """The scalar top-level keys; validated on their own so that a bad section does not hide them."""

    version: Literal[1] = 1
    """Format version of the definition file."""
    name: Text
    """Name of the scorecard, shown on tables, boards and reports."""
    description: str | None = None
    """Free text for readers of the definition."""
    timezone: TimezoneName = "UTC"
    """IANA timezone of calendar windows (Europe/Paris...)."""
    lateness: Grace = 3600
    """How late an event may arrive and still count (per KPI `lateness` overrides it); 0 for none."""
    dedupe: Dedupe = 86400
    """How long (in event time) an event id is remembered, so a resent event counts once."""
    max_ahead: Ahead = 3600
    """How far after its receipt an event may be timed; later is invalid (time_in_future)."""
    export: ExportPolicy = ExportPolicy()
    """Which units get Prometheus series."""
    limits: Limits = Limits()
    """Caps on one event's raw size and nesting."""
    defaults: Defaults = Defaults()
    """File-wide defaults of KPIs: pace."""


class Scorecard(Settings):
    """A validated definition, with O(1) lookups by id.

    Build it with ``load_scorecard``/``parse_scorecard``/``validate_scorecard``: constructing it directly skips the
    cross-reference checks.
    """

    perspectives: tuple[Perspective, ...] = CLASSIC_PERSPECTIVES
    """The perspectives of the scorecard (default: financial, customer, internal_process and learning_growth,
    weight 1 each)."""
    org: Unit
    """The root unit of the org tree; scores cascade from the leaves up to it."""
    objectives: tuple[Objective, ...] = ()
    """The strategic objectives, each in a perspective."""
    kpis: tuple[Kpi, ...] = Field(min_length=1)
    """The measures (at least one)."""

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
        """(goal, red_flag) for a unit: its override, else the KPI default, else None (score from children).

        A schedule gives its last phase's pair here (where it ends up); the pair in force at a time is
        ``schedule_for(...).pair_at(...)`` (``scorecard.core.targets`` does it for the evaluation).
        """
        kpi = self.kpi(kpi_id)
        self.unit(unit_id)
        target = kpi.targets.get(unit_id)
        if target is not None:
            schedule = target.schedule
            if schedule is not None:
                return schedule.final
            if target.goal is not None and target.red_flag is not None:
                return (target.goal, target.red_flag)
        return kpi.default_target

    def schedule_for(self, kpi_id: str, unit_id: str) -> Schedule | tuple[float, float] | None:
        """A unit's targets as written: its override's schedule or pair, else the KPI default's, else None."""
        kpi = self.kpi(kpi_id)
        target = kpi.targets.get(unit_id)
        if target is not None:
            if target.schedule is not None:
                return target.schedule
            if target.goal is not None and target.red_flag is not None:
                return (target.goal, target.red_flag)
        if kpi.schedule is not None:
            return kpi.schedule
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
        return line_of(self._lines, path)


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


def _schedule_of(steps: tuple[ScheduleStep, ...] | None, interpolate: Interpolation | None) -> Schedule | None:
    if not steps:
        return None
    return Schedule(tuple(ScheduleEntry(s.start, s.goal, s.red_flag) for s in steps), interpolate or "step")


def pairs_of(
    goal: float | None, red_flag: float | None, steps: tuple[ScheduleStep, ...] | None
) -> tuple[tuple[float | None, float | None], ...]:
    if steps:
        return tuple((s.goal, s.red_flag) for s in steps)
    return ((goal, red_flag),)


def first_polarity(pairs: tuple[tuple[float | None, float | None], ...]) -> Polarity | None:
    for goal, red_flag in pairs:
        found = polarity_of(goal, red_flag)
        if found is not None:
            return found
    return None


def polarity_of(goal: float | None, red_flag: float | None) -> Polarity | None:
    if goal is None or red_flag is None or goal == red_flag:
        return None
    return "higher_is_better" if goal > red_flag else "lower_is_better"
