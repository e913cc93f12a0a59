"""The event contract of a definition: what upstream producers must send for its KPIs (``scorecard events``).

For each event type the KPIs read: the KPIs, the ``fields`` they read (a number, in the KPI's unit where the value
is that field's sum, average, minimum or maximum; an answer 0-10 for NPS), the ``where`` filters that select events
for a KPI, and example lines. The examples are built so the engine accepts them: one line per distinct set of
filters of the type, carrying every field a KPI reads and the filter values, for the first leaf unit of the org.

``events_json_schema`` is the same contract as a JSON Schema (draft 2020-12) of one event line, for producers'
tests: a field is required when a KPI reads it from every event of the type (no ``where``), and typed as a number
(0-10 for NPS) wherever it appears. The generic rules of every event (``scorecard.core.events``) come first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from scorecard.core.definition import Kpi, Scorecard
from scorecard.core.hierarchy import OrgTree
from scorecard.core.timeutil import format_duration

__all__ = ["EXAMPLE_TIME", "EventType", "FieldUse", "FilterUse", "event_contract", "events_json_schema"]

EXAMPLE_TIME: Final = "2026-11-27T10:15:00Z"
"""The time of the example lines; replay them with ``--received-at`` at or after it (or ``--at``)."""
_EXAMPLE_NUMBER: Final = 1
_EXAMPLE_NPS: Final = 9
_VALUE_OF: Final = {
    "sum": "summed",
    "avg": "averaged",
    "min": "minimum",
    "max": "maximum",
    "nps": "NPS answers",
}


@dataclass(frozen=True)
class FieldUse:
    """A key of ``fields`` that KPIs read as a number: which KPIs, how, and in which unit."""

    name: str
    nps: bool
    uses: tuple[str, ...]
    """``kpi-id (how)`` for each KPI reading it (``revenue (summed, EUR)``)."""
    always: bool
    """Read from every event of the type (some KPI has no ``where``), so every event must carry it."""


@dataclass(frozen=True)
class FilterUse:
    """A key of ``fields`` that selects events for KPIs (``where``), with the values they look for."""

    name: str
    values: tuple[str | int | float | bool, ...]
    kpis: tuple[str, ...]


@dataclass(frozen=True)
class EventType:
    """One event type of the contract."""

    type: str
    kpis: tuple[str, ...]
    fields: tuple[FieldUse, ...]
    filters: tuple[FilterUse, ...]
    examples: tuple[dict[str, Any], ...]

    def example_lines(self) -> list[str]:
        """The examples as JSON lines (ASCII only: any name survives a terminal and a copy-paste)."""
        return [json.dumps(example, separators=(", ", ": ")) for example in self.examples]


@dataclass(frozen=True)
class _Read:
    """One place a KPI reads events: the type, the numeric field (or None for a count), the filters."""

    kpi: Kpi
    event: str
    field: str | None
    how: str
    where: dict[str, Any]


def event_contract(scorecard: Scorecard) -> tuple[EventType, ...]:
    """The event types the KPIs read, in the order the definition first mentions them."""
    reads: dict[str, list[_Read]] = {}
    for read in _reads(scorecard):
        reads.setdefault(read.event, []).append(read)
    unit = _example_unit(scorecard)
    counter = iter(range(1, 1_000_000_000))
    return tuple(_event_type(name, items, unit, counter) for name, items in reads.items())


def _reads(scorecard: Scorecard) -> Iterator[_Read]:
    for kpi in scorecard.kpis:
        unit = f", {kpi.unit}" if kpi.unit else ""
        if kpi.source is not None:
            how = "counted" if kpi.aggregation == "count" else _VALUE_OF[kpi.aggregation] + unit
            field = None if kpi.aggregation == "count" else kpi.source.field
            yield _Read(kpi, kpi.source.event, field, how, dict(kpi.source.where))
        for side, term in (("numerator", kpi.numerator), ("denominator", kpi.denominator)):
            if term is not None:
                field = term.field if term.aggregation == "sum" else None
                how = f"ratio {side}, {'summed' if field else 'counted'}"
                yield _Read(kpi, term.event, field, how, dict(term.where))


def _event_type(name: str, reads: list[_Read], unit: str, counter: Iterator[int]) -> EventType:
    fields: dict[str, list[_Read]] = {}
    filters: dict[str, dict[str, Any]] = {}
    filter_kpis: dict[str, list[str]] = {}
    for read in reads:
        if read.field is not None:
            fields.setdefault(read.field, []).append(read)
        for key, value in read.where.items():
            filters.setdefault(key, {})[_value_key(value)] = value
            filter_kpis.setdefault(key, []).append(read.kpi.id)
    field_uses = tuple(
        FieldUse(
            field,
            any(r.kpi.aggregation == "nps" for r in items),
            tuple(dict.fromkeys(f"{r.kpi.id} ({r.how})" for r in items)),
            any(not r.where for r in items),
        )
        for field, items in fields.items()
    )
    filter_uses = tuple(
        FilterUse(key, tuple(values.values()), tuple(dict.fromkeys(filter_kpis[key])))
        for key, values in filters.items()
    )
    numbers = {use.name: _EXAMPLE_NPS if use.nps else _EXAMPLE_NUMBER for use in field_uses}
    combos = list({_combo_key(r.where): r.where for r in reads}.values())
    examples = tuple(
        {
            "id": f"e-{next(counter)}",
            "type": name,
            "unit": unit,
            "time": EXAMPLE_TIME,
            "fields": {**numbers, **where},
        }
        for where in combos
    )
    kpis = tuple(dict.fromkeys(r.kpi.id for r in reads))
    return EventType(name, kpis, field_uses, filter_uses, examples)


def _value_key(value: object) -> str:
    """Filter values compare by type too (``true`` is not ``1``): the JSON text tells them apart."""
    return json.dumps(value)


def _combo_key(where: dict[str, Any]) -> str:
    return json.dumps(where, sort_keys=True)


def _example_unit(scorecard: Scorecard) -> str:
    """The first leaf of the org in file order: the units events usually come from."""
    tree = OrgTree.from_scorecard(scorecard)
    return next(unit for unit in tree.units if tree.is_leaf(unit))


def events_json_schema(scorecard: Scorecard) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of one event line for this definition."""
    tree = OrgTree.from_scorecard(scorecard)
    contract = event_contract(scorecard)
    limits = scorecard.limits
    by_type: list[dict[str, Any]] = []
    for event_type in contract:
        properties: dict[str, Any] = {}
        for use in event_type.fields:
            number: dict[str, Any] = {"type": "number", "description": "; ".join(use.uses)}
            if use.nps:
                number |= {"minimum": 0, "maximum": 10}
            properties[use.name] = number
        for filter_use in event_type.filters:
            if filter_use.name not in properties:
                properties[filter_use.name] = {
                    "description": f"selects events for {', '.join(filter_use.kpis)}",
                    "examples": list(filter_use.values),
                }
        fields: dict[str, Any] = {"type": "object", "properties": properties}
        required = [use.name for use in event_type.fields if use.always]
        if required:
            fields["required"] = required
        by_type.append(
            {
                "if": {"properties": {"type": {"const": event_type.type}}},
                "then": {"properties": {"fields": fields}, **({"required": ["fields"]} if required else {})},
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Events of {scorecard.name}",
        "description": (
            "One JSON object per Kafka message or JSON Lines line. Keys other than these are ignored; types no KPI"
            f" reads are ignored by the pipeline. At most {limits.event_bytes} bytes, nested at most"
            f" {limits.event_depth} levels."
        ),
        "type": "object",
        "required": ["id", "type", "unit", "time"],
        "properties": {
            "id": {
                "description": "Unique per event: a resent id counts once within the dedupe horizon "
                f"({format_duration(scorecard.dedupe)}).",
                "anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}],
            },
            "type": {"enum": [event_type.type for event_type in contract]},
            "unit": {"description": "A unit id of the org tree.", "enum": list(tree.units)},
            "time": {
                "description": "When it happened: RFC 3339 with an offset, or epoch seconds; years 1000-9997.",
                "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            },
            "fields": {"type": "object", "description": "The values the KPIs read."},
        },
        "allOf": by_type,
    }
