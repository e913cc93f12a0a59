"""The scorecard definition file (YAML, format version 1): its model, its loading and checks, its balance lint.

A definition is written by people and read by a long-running stream; a mistake found at start-up costs a line in
a terminal, the same mistake found at run time costs a wrong number on a dashboard. So validation is thorough and
talks like a reviewer: one message per problem, naming the field path (``kpis[2].window.size``), the YAML line and
what is expected, and it reports *every* problem of the file in one go rather than the first one.

- ``model``: the pydantic classes of every section and the ``Scorecard`` with its lookups by id;
- ``loading``: ``load_scorecard``, ``parse_scorecard``, ``validate_scorecard``; reading YAML within the loader's
  limits (size, nesting, values) and recording line numbers;
- ``checks``: references, ids, the org tree and the rules of each KPI, beyond the structure pydantic checks;
- ``messages``: pydantic's errors reworded as field paths and what is expected;
- ``problems``: ``Problem`` (``file:line: path: message``) and ``DefinitionError``, which carries them all;
- ``balance``: ``lint_balance``, warnings on a valid but lopsided scorecard.

Defaults: ``timezone: UTC``, ``lateness: 1h``, ``dedupe: 24h``, ``max_ahead: 1h`` (how far after its receipt an event
may be timed), ``limits: {event_bytes: 1048576, event_depth: 32}``, ``export: {max_depth: null}`` (export all), the
four classic perspectives with weight 1. Optional extras: ``version: 1`` and a top-level ``description``.
"""

from scorecard.core.definition.balance import lint_balance
from scorecard.core.definition.checks import MAX_ORG_DEPTH
from scorecard.core.definition.loading import (
    MAX_FILE_BYTES,
    MAX_NESTING,
    MAX_NODES,
    load_scorecard,
    parse_scorecard,
    validate_scorecard,
)
from scorecard.core.definition.model import (
    AGGREGATIONS,
    CLASSIC_PERSPECTIVES,
    MAX_DEDUPE,
    MAX_LATENESS,
    RESERVED_ID_PREFIX,
    AlertOptions,
    CalendarSpec,
    EventSource,
    ExportPolicy,
    Kpi,
    Limits,
    Objective,
    Perspective,
    RatioTerm,
    RollingSpec,
    Scorecard,
    Target,
    TumblingSpec,
    Unit,
    WindowSpec,
)
from scorecard.core.definition.problems import DefinitionError, Problem

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
    "AlertOptions",
    "CalendarSpec",
    "DefinitionError",
    "EventSource",
    "ExportPolicy",
    "Kpi",
    "Limits",
    "Objective",
    "Perspective",
    "Problem",
    "RatioTerm",
    "RollingSpec",
    "Scorecard",
    "Target",
    "TumblingSpec",
    "Unit",
    "WindowSpec",
    "lint_balance",
    "load_scorecard",
    "parse_scorecard",
    "validate_scorecard",
]
