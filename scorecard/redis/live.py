"""The live scorecard as Redis holds it: subtree states read in one snapshot, scored by the replay's own code.

``scorecard status``, ``scorecard report`` (with its trends), the board and the exporter read here. Values, scores
and statuses are computed at read time from the subtree states because they depend on the evaluation time (which
window is current); the computation is ``scorecard.core.evaluation.report``, the very function the replay prints, so
the two can be compared with ``diff``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from scorecard.core.aggregates import State
from scorecard.core.definition import Scorecard
from scorecard.core.engine import BucketKey, CompiledKpi, compile_kpis
from scorecard.core.evaluation import buckets_at, report
from scorecard.core.hierarchy import OrgTree
from scorecard.core.trends import Trends, collect_trends
from scorecard.core.updates import Counts
from scorecard.redis.store import RedisStore


def live_report(scorecard: Scorecard, store: RedisStore, at: float) -> dict[str, Any]:
    """The JSON report at ``at`` from the subtree states and outcome counts in Redis (one snapshot)."""
    compiled = compile_kpis(scorecard)
    tree = OrgTree.from_scorecard(scorecard)
    subtree, counts = read_live(store, compiled, buckets_at(scorecard, at, compiled))
    return report(scorecard, tree, subtree, at, total_counts(counts), compiled)


def read_subtree_states(
    store: RedisStore, kpis: Mapping[str, CompiledKpi], needed: Mapping[str, Iterable[int]]
) -> dict[str, dict[BucketKey, State]]:
    """Every unit's subtree states for the ``needed`` buckets (``buckets_at``), read as one MULTI/EXEC snapshot."""
    return read_live(store, kpis, needed, with_counts=False)[0]


def read_live(
    store: RedisStore,
    kpis: Mapping[str, CompiledKpi],
    needed: Mapping[str, Iterable[int]],
    *,
    with_counts: bool = True,
) -> tuple[dict[str, dict[BucketKey, State]], Counts]:
    """Subtree states for the ``needed`` buckets and the counts records, read together as one MULTI/EXEC snapshot.

    The states come in the shape ``evaluation.score_units`` takes; the exporter calls this with KPIs compiled once,
    not per scrape.
    """
    raw, counts = store.read_snapshot(
        ((kpi_id, bucket) for kpi_id, buckets in needed.items() for bucket in buckets), with_counts=with_counts
    )
    subtree: dict[str, dict[BucketKey, State]] = {}
    for (kpi_id, bucket), by_unit in raw.items():
        from_list = kpis[kpi_id].aggregation.from_list
        for unit, ints in by_unit.items():
            subtree.setdefault(unit, {})[(kpi_id, bucket)] = from_list(ints)
    return subtree, counts


def live_counts(store: RedisStore) -> Counter[str]:
    """Event outcome counts summed over every unit record (and so over every worker)."""
    return total_counts(store.read_counts())


def total_counts(counts: Counts) -> Counter[str]:
    """Outcome counts summed over the counts records of every unit (and so of every worker)."""
    total: Counter[str] = Counter()
    for payload in (*counts.units.values(), *counts.partitions.values()):
        total.update(payload.get("counts", {}))
    return total


def live_trends(
    scorecard: Scorecard, store: RedisStore, at: float, previous: int = 1, current: Mapping[str, Any] | None = None
) -> Trends:
    """Trends from Redis: the windows it still holds (its TTLs keep the current and the previous one)."""

    def held(keys: set[BucketKey]) -> set[BucketKey]:
        return {key for key, by_unit in store.read_subtree(sorted(keys)).items() if by_unit}

    return collect_trends(scorecard, at, previous, lambda when: live_report(scorecard, store, when), held, current)
