"""What the Quix Streams contenders of ``bench/bench_peers.py`` compute, without Quix: parsing and fan-out.

Kept apart from ``quix_job.py`` so the benchmark (which does not install Quix) computes exactly how many records
the job's window stage will see, using the same rules as the job: a line counts when it is a JSON object with a
``unit`` of the scorecard and an ISO ``time``; it then becomes one record per unit it counts for (``uc4``: the unit
and every ancestor, as in Theodolite's UC4 hierarchical aggregation) or one record for its own unit (``own``).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

Record = dict[str, Any]


def parse(raw: bytes, chains: Mapping[str, Sequence[str]]) -> Record | None:
    """The event as ``{"unit", "ms", "amount"}``, or None for a line the job skips."""
    try:
        event = json.loads(raw)
        unit = event["unit"]
        ms = int(datetime.datetime.fromisoformat(event["time"]).timestamp() * 1000)
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(unit, str) or unit not in chains:
        return None
    fields = event.get("fields")
    amount = fields.get("amount") if isinstance(fields, dict) else None
    return {"unit": unit, "ms": ms, "amount": amount if isinstance(amount, int | float) else 0}


def fan_out(record: Record, chains: Mapping[str, Sequence[str]], mode: str) -> list[Record]:
    """``uc4``: one copy per unit the event counts for (itself and its ancestors); ``own``: the event alone."""
    if mode == "own":
        return [record]
    return [{**record, "unit": unit} for unit in chains[record["unit"]]]


def expected_records(lines: Sequence[bytes], chains: Mapping[str, Sequence[str]], mode: str) -> int:
    """How many records reach the job's window stage for ``lines``."""
    total = 0
    for raw in lines:
        record = parse(raw, chains)
        if record is not None:
            total += len(fan_out(record, chains, mode))
    return total
