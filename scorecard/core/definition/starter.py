"""The small valid definition ``scorecard init`` writes: two units, two perspectives, two KPIs of different kinds.

It starts with the ``yaml-language-server`` comment naming the JSON Schema (``scorecard schema``), so an editor with
the YAML language server completes and checks the file as it is written.
"""

from __future__ import annotations

import math

import yaml

__all__ = ["starter_definition"]

_BODY = """\
# A scorecard to start from. docs/definition.md describes every field; `scorecard validate FILE` checks the file,
# `scorecard events FILE` tells the producers which events to send, `scorecard replay FILE EVENTS` scores a file.
timezone: UTC
lateness: 1h          # events up to an hour late still count in their window

perspectives:
  - {id: financial, name: Financial}
  - {id: customer, name: Customer}

org:
  id: company
  name: Company
  children:
    - {id: sales, name: Sales}
    - {id: support, name: Support}

objectives:
  - {id: grow-revenue, perspective: financial, name: Grow revenue}
  - {id: delight-customers, perspective: customer, name: Delight customers}

kpis:
  - id: revenue
    name: Revenue this month
    objective: grow-revenue
    unit: EUR
    aggregation: sum
    source: {event: order_completed, field: amount}
    window: {kind: calendar, period: month}
    goal: 100000        # goal above red_flag: higher is better
    red_flag: 80000
  - id: nps
    name: Net promoter score, last 7 days
    objective: delight-customers
    aggregation: nps
    source: {event: survey_answered, field: score}
    window: {kind: rolling, size: 7d, step: 1d}
    goal: 40
    red_flag: 10
"""


def starter_definition(name: str, schema_ref: str) -> str:
    """The starter file for a scorecard called ``name``; ``schema_ref`` is the schema's path or URL for editors."""
    name_line = yaml.safe_dump({"name": name}, allow_unicode=True, width=math.inf, default_flow_style=False)
    return f"# yaml-language-server: $schema={schema_ref}\n{name_line}{_BODY}"
