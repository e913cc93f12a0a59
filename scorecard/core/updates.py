"""The records the stream hands to the store: a unit's new own state per (KPI, bucket), and its outcome counts.

They are plain values, built by ``streams.processor`` from the engine's unit records and applied by
``scorecard.redis.store.RedisStore``; keeping them here lets the processor be tested with a plain dict, no Redis
client loaded. ``merge_components`` is the component-wise merge the Redis cascade applies, in Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

__all__ = ["Counts", "CountsUpdate", "OwnUpdate", "check_ops", "merge_components"]

_OPS = re.compile(r"^[acnx]+$")


@dataclass(frozen=True, slots=True)
class OwnUpdate:
    """A unit's new own state for one (KPI, bucket), and where the change must cascade.

    ``version`` counts the events the unit has applied (monotone, content-determined): Redis keeps the highest it has
    seen per field and skips anything not newer. ``state`` is ``Aggregation.to_list`` output and ``ops`` the KPI's
    ``Aggregation.component_ops``. ``ancestors`` is ``OrgTree.ancestors(unit)``: the unit itself first, up to the root.
    ``ttl_ms`` is the KPI's retention; the own and subtree keys of the bucket expire that long after their last write.
    Within one (KPI, bucket) the own state may only grow between versions (events are added, never removed).
    """

    kpi: str
    bucket: int
    unit: str
    version: int
    state: list[int]
    ancestors: tuple[str, ...]
    ops: str
    ttl_ms: int


@dataclass(frozen=True, slots=True)
class CountsUpdate:
    """A versioned record of the ``counts`` hash: per unit (``unit:{u}``) or per input partition (``part:{n}``).

    Stored as given (readers sum the records); like own states, a record is only replaced by a newer version.
    """

    field: str
    version: int
    payload: Mapping[str, Any]

    @classmethod
    def for_unit(cls, unit: str, version: int, payload: Mapping[str, Any]) -> CountsUpdate:
        """Per-unit outcome counts and stream time (accepted, duplicate, late, last event time...)."""
        return cls(f"unit:{unit}", version, payload)

    @classmethod
    def for_partition(cls, partition: int, version: int, payload: Mapping[str, Any]) -> CountsUpdate:
        """Per-input-partition counts of events that belong to no unit (invalid, ignored)."""
        return cls(f"part:{partition}", version, payload)


class Counts(NamedTuple):
    """The ``counts`` hash decoded: payloads per unit and per input partition, versions dropped."""

    units: dict[str, dict[str, Any]]
    partitions: dict[int, dict[str, Any]]


@lru_cache(maxsize=64)
def check_ops(ops: str) -> str:
    """Validate an op vector: letters ``a c n x``, at most one ``c``, and ``n`` / ``x`` only next to a ``c``."""
    if not _OPS.match(ops) or ops.count("c") > 1 or (("n" in ops or "x" in ops) and "c" not in ops):
        raise ValueError(f"component ops must be letters a/c/n/x with one c when n or x is used, got {ops!r}")
    return ops


def merge_components(ops: str, a: Sequence[int], b: Sequence[int]) -> list[int]:
    """Merge two serialized states component by component, exactly as the Lua cascade does.

    ``a`` / ``c`` add; ``n`` / ``x`` keep the min / max of the non-empty sides (emptiness is the ``c`` component being
    0, and an empty result keeps the canonical 0 there). tests/unit/redis/test_store_ops.py checks this equals
    ``Aggregation.merge`` for every kind, so the ops declared in aggregates.py cannot drift from the real merge.
    """
    check_ops(ops)
    count = ops.find("c")
    a_empty = count >= 0 and a[count] == 0
    b_empty = count >= 0 and b[count] == 0
    out: list[int] = []
    for op, x, y in zip(ops, a, b, strict=True):
        if op in "ac":
            out.append(x + y)
        elif a_empty or b_empty:
            out.append(y if a_empty else x)
        else:
            out.append(min(x, y) if op == "n" else max(x, y))
    return out
