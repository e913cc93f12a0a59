"""The Prometheus exporter: ``/metrics`` computed from Redis on every scrape, never from values kept in the process.

Why a custom collector and not one ``Gauge`` per KPI: values, scores and statuses depend on the evaluation time (which
window is current), so they must be recomputed at scrape time anyway, and gauges kept in sync by a background loop
would serve stale numbers when Redis goes away. Each scrape therefore

1. reads every needed subtree state and the counts hash (stream times) in one MULTI/EXEC (``live.read_live``: a
   consistent snapshot in which a unit and its ancestors always agree, and the last event times match the values);
2. scores every unit with ``evaluation.score_units``, the replay's own code (no scoring rule is restated here), and
   the contribution of each KPI to its unit's score with ``contributions.FloatContributions``;
3. emits the series of the units the export policy keeps (``export.max_depth``; root depth 0, ``None`` = all).

When Redis cannot be read the scrape still answers at once (short socket timeouts, no retries) with
``scorecard_exporter_redis_up 0``, the error counter incremented and no scorecard values at all: Prometheus then
marks the old series stale instead of being fed old numbers. The definition's info series stay, they are not data.

Why the HTTP server renders the text itself: ``prometheus_client.generate_latest`` sorts, escapes and formats each
label set on every scrape, which dominates a scrape of a large org (bench/bench_exporter.py measures scrapes).
Here every series' name and label block is rendered once, when the definition is loaded
(``Layout``), and a scrape only formats the numbers. ``ScorecardCollector.collect`` yields the very same families as
``prometheus_client`` metric families (for a registry of your own, or ``generate_latest``), and a unit test checks
that both renderings parse to the same samples.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from scorecard.config import RedisOptions
from scorecard.contract import (
    EXPORTER_REDIS_UP,
    EXPORTER_SCRAPE_DURATION,
    EXPORTER_SCRAPE_ERRORS,
    KPI_CONTRIBUTION,
    KPI_ELAPSED_RATIO,
    KPI_FORECAST,
    KPI_GOAL,
    KPI_INFO,
    KPI_PERIOD_END,
    KPI_PERIOD_GOAL,
    KPI_PERIOD_RED_FLAG,
    KPI_RED_FLAG,
    KPI_SCORE,
    KPI_STATUS,
    KPI_VALUE,
    LAST_EVENT_TIMESTAMP,
    PERSPECTIVE_SCORE,
    STATUS_CODES,
    UNIT_INFO,
    UNIT_SCORE,
    exported_units,
)
from scorecard.core.contributions import FloatContributions
from scorecard.core.definition import Scorecard
from scorecard.core.engine import compile_kpis
from scorecard.core.evaluation import UnitResult, buckets_at, score_units
from scorecard.core.hierarchy import OrgTree
from scorecard.core.updates import Counts
from scorecard.outputs.webconfig import WebConfig
from scorecard.outputs.webserver import TEXT, Limits, RequestHandler, WebServer
from scorecard.redis.client import Client, connect, describe
from scorecard.redis.live import read_live
from scorecard.redis.store import RedisStore, StoreError

__all__ = [
    "CONTENT_TYPE",
    "ExporterServer",
    "Family",
    "Layout",
    "ScorecardCollector",
    "exposition",
    "redis_client",
    "run_exporter",
    "start_server",
    "subtree_stream_times",
]

log = logging.getLogger("scorecard.exporter")  # stable, whatever the module path

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
REDIS_TIMEOUT: Final = 1.0
"""Seconds a Redis connect or read may take before the scrape gives up: well under Prometheus's scrape timeout."""

STATUS_VALUES: Final = {status: float(code) for status, code in STATUS_CODES.items()}
"""``scorecard_kpi_status`` samples (``contract.STATUS_CODES``); ``no_data`` has none."""

KPI_LABELS: Final = ("unit", "kpi", "perspective", "objective")
_KPI_FAMILIES: Final = (
    (KPI_VALUE, "Value of the KPI over its current window, in its display unit (no sample: no data)."),
    (KPI_GOAL, "Goal the status is judged against, to date for a paced KPI (only where a target exists)."),
    (KPI_RED_FLAG, "Red-flag threshold judged against, to date for a paced KPI (only where a target exists)."),
    (KPI_SCORE, "Score 0-10 (goal 6.67, red flag 3.33); rolled up from children without a target."),
    (KPI_STATUS, "Status: 2 green, 1 amber, 0 red; no sample when there is no data."),
    (KPI_PERIOD_GOAL, "Full-period goal in force (only where a target exists)."),
    (KPI_PERIOD_RED_FLAG, "Full-period red-flag threshold in force (only where a target exists)."),
    (KPI_ELAPSED_RATIO, "Share 0-1 of a paced KPI's period that has passed (no sample when not paced)."),
    (KPI_FORECAST, "Value at the period's end if the pace holds: value / elapsed share (paced KPIs only)."),
    (KPI_PERIOD_END, "End of the KPI's current period, Unix seconds (calendar and tumbling windows only)."),
)
_SPECIAL_NUMBERS: Final = {"inf": "+Inf", "-inf": "-Inf", "nan": "NaN"}


# ---------------------------------------------------------------------------------------------------- families
@dataclass(slots=True)
class Family:
    """One metric family of a scrape: samples are ``(slot, value)`` into label tables rendered once per definition.

    ``name`` is the family name as ``prometheus_client`` knows it (a counter's samples add ``_total``); ``prefixes``
    holds, per slot, the sample name and label block followed by a space, ready to receive the number.
    """

    name: str
    help: str
    kind: str
    label_names: tuple[str, ...]
    labels: Sequence[tuple[str, ...]]
    prefixes: Sequence[str]
    samples: list[tuple[int, float]] = field(default_factory=list)

    def with_samples(self, samples: list[tuple[int, float]]) -> Family:
        return Family(self.name, self.help, self.kind, self.label_names, self.labels, self.prefixes, samples)

    def to_metric(self) -> Metric:
        """The same family as a ``prometheus_client`` metric family."""
        metric: GaugeMetricFamily | CounterMetricFamily
        if self.kind == "counter":
            metric = CounterMetricFamily(self.name, self.help, labels=self.label_names)
        else:
            metric = GaugeMetricFamily(self.name, self.help, labels=self.label_names)
        for slot, value in self.samples:
            metric.add_metric(list(self.labels[slot]), value)
        return metric


def _family(name: str, help_text: str, label_names: tuple[str, ...], labels: Sequence[tuple[str, ...]]) -> Family:
    return _make_family(name, help_text, "gauge", label_names, labels)


def _make_family(
    name: str, help_text: str, kind: str, label_names: tuple[str, ...], labels: Sequence[tuple[str, ...]]
) -> Family:
    sample_name = f"{name}_total" if kind == "counter" else name
    prefixes = [f"{sample_name}{_label_block(label_names, values)} " for values in labels]
    return Family(name, help_text, kind, label_names, labels, prefixes)


def _label_block(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)) + "}"


def _escape(value: str) -> str:
    """Label value escaping of the text format: backslash, double quote and line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    text = repr(value)
    return _SPECIAL_NUMBERS.get(text, text)


def exposition(families: Sequence[Family]) -> bytes:
    """The families in the Prometheus text format 0.0.4 (what ``generate_latest`` would print, faster)."""
    out: list[str] = []
    for family in families:
        sample_name = f"{family.name}_total" if family.kind == "counter" else family.name
        help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        out.append(f"# HELP {sample_name} {help_text}\n# TYPE {sample_name} {family.kind}\n")
        prefixes = family.prefixes
        out.extend([f"{prefixes[slot]}{_number(value)}\n" for slot, value in family.samples])
    return "".join(out).encode()


# ------------------------------------------------------------------------------------------------------ layout
class Layout:
    """Every series the definition can produce, with its labels rendered once: computed when the exporter starts.

    Units are the exported ones (``export.max_depth``) in definition pre-order; KPI slots are unit-major
    (``unit_index * len(kpis) + kpi_index``), perspective slots likewise.
    """

    def __init__(self, scorecard: Scorecard, tree: OrgTree) -> None:
        self.units = exported_units(scorecard, tree)
        self.kpis = tuple(k.id for k in scorecard.kpis)
        self.perspectives = tuple(p.id for p in scorecard.perspectives)
        self.periodic = frozenset(k.id for k in scorecard.kpis if k.window.kind != "rolling")
        """KPIs whose window has periods (calendar, tumbling): the ones with a period end to export."""
        placement = {k.id: _placement(scorecard, k.id) for k in scorecard.kpis}
        kpi_labels = [(u, k, *placement[k]) for u in self.units for k in self.kpis]
        self.kpi_families = [_family(name, text, KPI_LABELS, kpi_labels) for name, text in _KPI_FAMILIES]
        self.kpi_contribution = _family(
            KPI_CONTRIBUTION,
            "Points the KPI adds to the unit's overall score; a unit's samples sum to its scorecard_unit_score.",
            KPI_LABELS,
            kpi_labels,
        )
        self.perspective_score = _family(
            PERSPECTIVE_SCORE,
            "Weighted mean of the unit's KPI scores in the perspective (0-10).",
            ("unit", "perspective"),
            [(u, p) for u in self.units for p in self.perspectives],
        )
        unit_labels = [(u,) for u in self.units]
        self.unit_score = _family(
            UNIT_SCORE,
            "Overall score of the unit (0-10), weighted over perspectives.",
            ("unit",),
            unit_labels,
        )
        self.last_event = _family(
            LAST_EVENT_TIMESTAMP,
            "Event time of the newest accepted event in the unit's subtree (Unix seconds).",
            ("unit",),
            unit_labels,
        )
        self.unit_info = _info(_unit_info_family(scorecard, tree, self.units))
        self.kpi_info = _info(_kpi_info_family(scorecard, placement))


def _placement(scorecard: Scorecard, kpi_id: str) -> tuple[str, str]:
    """(perspective id, objective id) of a KPI, "" for a KPI that counts in no perspective."""
    objective = scorecard.kpi(kpi_id).objective
    perspective = scorecard.perspective_of(kpi_id)
    return (perspective.id if perspective is not None else "", objective or "")


def _unit_info_family(scorecard: Scorecard, tree: OrgTree, units: Sequence[str]) -> Family:
    labels = []
    for unit_id in units:
        unit = scorecard.unit(unit_id)
        labels.append((unit_id, unit.label, tree.parent(unit_id) or "", str(tree.depth(unit_id)), unit.owner or ""))
    return _family(
        UNIT_INFO,
        "Exported org units: display name, parent (empty for the root), depth (root 0) and owner; always 1.",
        ("unit", "name", "parent", "depth", "owner"),
        labels,
    )


def _kpi_info_family(scorecard: Scorecard, placement: Mapping[str, tuple[str, str]]) -> Family:
    labels = [(k.id, k.label, *placement[k.id], k.unit or "", k.polarity or "", k.owner or "") for k in scorecard.kpis]
    return _family(
        KPI_INFO,
        "KPIs of the definition: display name, perspective, objective, display unit, polarity and owner; always 1.",
        ("kpi", "name", "perspective", "objective", "display_unit", "polarity", "owner"),
        labels,
    )


def _info(family: Family) -> Family:
    return family.with_samples([(slot, 1.0) for slot in range(len(family.labels))])


# --------------------------------------------------------------------------------------------------- collector
class ScorecardCollector(Collector):
    """Reads Redis and scores the scorecard on every scrape; holds nothing between scrapes but its own counters.

    ``clock`` gives the evaluation time (tests pass the replay's time to compare numbers exactly).
    """

    def __init__(self, scorecard: Scorecard, store: RedisStore, *, clock: Callable[[], float] = time.time) -> None:
        self.scorecard = scorecard
        self.store = store
        self.clock = clock
        self.tree = OrgTree.from_scorecard(scorecard)
        self.compiled = compile_kpis(scorecard)
        self.layout = Layout(scorecard, self.tree)
        self.contributions = FloatContributions(scorecard)
        self._errors = 0
        self._redis_up = True
        self._lock = threading.Lock()
        no_labels: list[tuple[str, ...]] = [()]
        self._duration = _family(
            EXPORTER_SCRAPE_DURATION,
            "Seconds the last collection took to read Redis and score the scorecard.",
            (),
            no_labels,
        )
        self._error_family = _make_family(
            EXPORTER_SCRAPE_ERRORS,
            "Scrapes that could not read or score the scorecard.",
            "counter",
            (),
            no_labels,
        )
        self._up = _family(EXPORTER_REDIS_UP, "1 when the last scrape read Redis, else 0.", (), no_labels)

    def collect(self) -> Iterator[Metric]:
        for family in self.scrape():
            yield family.to_metric()

    def describe(self) -> Iterator[Metric]:
        """Nothing: registering must not read Redis (a registry calls ``collect`` for names when this is missing)."""
        return iter(())

    def scrape(self) -> list[Family]:
        """One scrape: the scorecard families from one Redis snapshot, or none of them when Redis failed."""
        started = time.perf_counter()
        families = [self.layout.unit_info, self.layout.kpi_info]
        try:
            families += self._scorecard_families(self.clock())
            up = True
        except Exception as error:  # a scrape must answer whatever failed; the counter and the log say what
            up = not _is_connection_error(error)
            self._record_error(error, up)
        else:
            self._record_success()
        with self._lock:
            errors = self._errors
        families += [
            self._duration.with_samples([(0, time.perf_counter() - started)]),
            self._error_family.with_samples([(0, float(errors))]),
            self._up.with_samples([(0, 1.0 if up else 0.0)]),
        ]
        return families

    def _scorecard_families(self, at: float) -> list[Family]:
        needed = buckets_at(self.scorecard, at, self.compiled)
        subtree, counts = read_live(self.store, self.compiled, needed)
        return self.families(score_units(self.scorecard, self.tree, subtree, at, self.compiled), counts)

    def families(self, results: Mapping[str, UnitResult], counts: Counts) -> list[Family]:
        """The scorecard families of the exported units from scored results and counts records (no I/O)."""
        return [
            *self._kpi_families(results),
            self._contribution_family(results),
            *self._unit_families(results),
            self._last_event_family(counts),
        ]

    def _kpi_families(self, results: Mapping[str, UnitResult]) -> list[Family]:
        values: list[tuple[int, float]] = []
        goals: list[tuple[int, float]] = []
        red_flags: list[tuple[int, float]] = []
        scores: list[tuple[int, float]] = []
        statuses: list[tuple[int, float]] = []
        period_goals: list[tuple[int, float]] = []
        period_red_flags: list[tuple[int, float]] = []
        elapsed: list[tuple[int, float]] = []
        forecasts: list[tuple[int, float]] = []
        period_ends: list[tuple[int, float]] = []
        periodic = self.layout.periodic
        slot = 0
        kpis = self.layout.kpis
        for unit in self.layout.units:
            by_kpi = results[unit].kpis
            for kpi_id in kpis:
                result = by_kpi[kpi_id]
                if result.value is not None:
                    values.append((slot, result.value))
                if result.goal is not None and result.red_flag is not None:
                    goals.append((slot, result.goal))
                    red_flags.append((slot, result.red_flag))
                if result.score is not None:
                    scores.append((slot, result.score))
                status = STATUS_VALUES.get(result.status)
                if status is not None:
                    statuses.append((slot, status))
                if result.period_goal is not None and result.period_red_flag is not None:
                    period_goals.append((slot, result.period_goal))
                    period_red_flags.append((slot, result.period_red_flag))
                if result.elapsed is not None:
                    elapsed.append((slot, result.elapsed))
                if result.forecast is not None:
                    forecasts.append((slot, result.forecast))
                if kpi_id in periodic:
                    period_ends.append((slot, float(result.window[1])))
                slot += 1
        samples = (
            values,
            goals,
            red_flags,
            scores,
            statuses,
            period_goals,
            period_red_flags,
            elapsed,
            forecasts,
            period_ends,
        )
        return [f.with_samples(s) for f, s in zip(self.layout.kpi_families, samples, strict=True)]

    def _contribution_family(self, results: Mapping[str, UnitResult]) -> Family:
        """``c(U, k)`` of every KPI with a score in a perspective (``FloatContributions``), in the KPI slots."""
        samples: list[tuple[int, float]] = []
        kpis = self.layout.kpis
        width = len(kpis)
        for index, unit in enumerate(self.layout.units):
            by_kpi = results[unit].kpis
            shares = self.contributions.of({k: by_kpi[k].score for k in kpis})
            base = index * width
            samples.extend((base + offset, shares[k]) for offset, k in enumerate(kpis) if k in shares)
        return self.layout.kpi_contribution.with_samples(samples)

    def _unit_families(self, results: Mapping[str, UnitResult]) -> list[Family]:
        perspective_scores: list[tuple[int, float]] = []
        unit_scores: list[tuple[int, float]] = []
        perspectives = self.layout.perspectives
        for index, unit in enumerate(self.layout.units):
            result = results[unit]
            base = index * len(perspectives)
            for offset, perspective in enumerate(perspectives):
                score = result.perspectives[perspective]
                if score is not None:
                    perspective_scores.append((base + offset, score))
            if result.score is not None:
                unit_scores.append((index, result.score))
        return [
            self.layout.perspective_score.with_samples(perspective_scores),
            self.layout.unit_score.with_samples(unit_scores),
        ]

    def _last_event_family(self, counts: Counts) -> Family:
        newest = subtree_stream_times(self.tree, counts)
        samples = [(i, t) for i, u in enumerate(self.layout.units) if (t := newest.get(u)) is not None]
        return self.layout.last_event.with_samples(samples)

    def _record_error(self, error: Exception, redis_up: bool) -> None:
        with self._lock:
            self._errors += 1
            was_up, self._redis_up = self._redis_up, redis_up
        if redis_up:
            log.warning("scrape failed: %s", error, exc_info=not isinstance(error, StoreError))
        elif was_up:  # said once per outage, not once per scrape
            log.warning("Redis unreachable, serving no scorecard values until it is back: %s", error)

    def _record_success(self) -> None:
        with self._lock:
            was_up, self._redis_up = self._redis_up, True
        if not was_up:
            log.warning("Redis reachable again")


def subtree_stream_times(tree: OrgTree, counts: Counts) -> dict[str, float | None]:
    """Per unit, the newest ``stream_time`` of the unit and its descendants (None: no accepted event yet).

    Per-unit counts records carry the unit's own stream time; records of unknown units (the ``__invalid__`` pseudo
    unit, units of an older definition) are ignored.
    """
    newest: dict[str, float | None] = {}
    for unit in tree.postorder():
        record = counts.units.get(unit)
        own = record.get("stream_time") if record else None
        times = [t for t in (own, *(newest[c] for c in tree.children(unit))) if t is not None and math.isfinite(t)]
        newest[unit] = float(max(times)) if times else None
    return newest


def _is_connection_error(error: BaseException) -> bool:
    """Whether Redis could not be reached (as opposed to answering something we could not use)."""
    cause = error.__cause__ if isinstance(error, StoreError) else error
    return isinstance(cause, redis.ConnectionError | redis.TimeoutError)


# ------------------------------------------------------------------------------------------------------ server
class _Handler(RequestHandler):
    collector: ScorecardCollector

    def get(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self.reply(200, CONTENT_TYPE, exposition(self.collector.scrape()))
        elif path == "/":
            self.reply(200, TEXT, b"scorecard exporter: metrics at /metrics, health at /healthz\n")
        else:
            self.reply(404, TEXT, b"not found; metrics are at /metrics\n")


class ExporterServer(WebServer):
    """The collector on ``/metrics`` (and ``/healthz``), served by the bounded ``webserver.WebServer``."""

    def __init__(
        self,
        collector: ScorecardCollector,
        host: str,
        port: int,
        *,
        limits: Limits | None = None,
        web_config: WebConfig | None = None,
    ) -> None:
        handler = type("ExporterHandler", (_Handler,), {"collector": collector})
        super().__init__(handler, host, port, limits=limits, name="scorecard-exporter", web_config=web_config)


def start_server(
    collector: ScorecardCollector,
    host: str = "0.0.0.0",
    port: int = 9108,
    *,
    limits: Limits | None = None,
    web_config: WebConfig | None = None,
) -> ExporterServer:
    """Serve the collector on ``http[s]://host:port/metrics`` in the background (port 0: any free port); the web
    config adds TLS and basic authentication."""
    return ExporterServer(collector, host, port, limits=limits, web_config=web_config).start()


def redis_client(url: str, timeout: float = REDIS_TIMEOUT, options: RedisOptions | None = None) -> Client:
    """A client that fails within ``timeout`` instead of retrying: a scrape must answer even when Redis is gone."""
    return connect(url, options, timeout=timeout, connect_timeout=timeout, retries=False)


def run_exporter(
    scorecard: Scorecard,
    redis_url: str,
    app_id: str,
    host: str,
    port: int,
    *,
    web_config: WebConfig | None = None,
    announce: Callable[[str], None] = lambda url: log.info("serving %s", url),
    options: RedisOptions | None = None,
) -> None:
    """Serve in the calling thread until interrupted (Ctrl-C or SIGTERM): what ``scorecard exporter`` runs.

    Starts even when Redis is down (scrapes then say ``redis_up 0``): the exporter must not need Redis to start.
    """
    store = RedisStore(redis_client(redis_url, options=options), app_id, url=describe(redis_url, options))
    server = ExporterServer(ScorecardCollector(scorecard, store), host, port, web_config=web_config)
    announce(server.url)
    server.serve_forever()
