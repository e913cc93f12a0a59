"""The worker's own metrics (pipeline health), served on a port of their own.

These describe the pipeline, not the scorecard (the exporter serves that from Redis): how many events ended in each
outcome, how far behind the events are when their change reaches Redis, how big and slow the Redis cascades are, how
often Redis failed, and how many messages wait in Kafka. Names are a contract shared with the generated dashboards
and rules (docs/metrics.md).

Each worker has its own registry, so two pipelines in one process (tests) never mix their numbers, and everything is
observed once per batch, never per event on the hot path: the lag of a batch's accepted events goes into its
histogram in one step (``LagHistogram``), since one ``Histogram.observe`` per event cost about a tenth of a worker's
time.

``serve`` exposes the registry with ``prometheus_client``'s own ``MetricsHandler`` (the same exposition as its
``start_http_server``: text or OpenMetrics as the scraper asks, gzip, ``name[]`` filters) on the bounded server of
``scorecard.outputs.webserver`` instead of ``start_http_server``'s thread per connection.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    MetricsHandler,
    disable_created_metrics,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from scorecard.contract import (
    PIPELINE_CASCADE_BATCH_SIZE,
    PIPELINE_CASCADE_DURATION,
    PIPELINE_CONSUMER_LAG,
    PIPELINE_DEAD_LETTERS,
    PIPELINE_EVENT_LAG,
    PIPELINE_EVENTS,
    PIPELINE_REDIS_ERRORS,
    PIPELINE_REPLAYED,
)
from scorecard.core.engine import OUTCOMES
from scorecard.outputs.webconfig import WebConfig
from scorecard.outputs.webserver import Limits, RequestHandler, WebServer

# Event-to-Redis lag: milliseconds for a live stream, up to days for a backfill.
LAG_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
    6 * 3600.0,
    86400.0,
    7 * 86400.0,
)
BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class PipelineMetrics:
    """The metric families of one worker; ``serve(port, host)`` exposes them on ``/metrics``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events = Counter(
            PIPELINE_EVENTS,
            "Input events by outcome (replayed redeliveries excluded).",
            ["outcome"],
            registry=r,
        )
        for outcome in OUTCOMES:  # every outcome has a sample from the start, so rate() works at once
            self.events.labels(outcome.value)
        self.replayed = Counter(
            PIPELINE_REPLAYED,
            "Redelivered messages skipped because their unit had applied them.",
            registry=r,
        )
        self.dead_letters = Counter(
            PIPELINE_DEAD_LETTERS,
            "Messages sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=r,
        )
        self.event_lag = LagHistogram(
            PIPELINE_EVENT_LAG,
            "Now minus event time of accepted events, after the Redis flush that carried their batch.",
            LAG_BUCKETS,
        )
        r.register(self.event_lag)
        self.cascade_batch_size = Histogram(
            PIPELINE_CASCADE_BATCH_SIZE,
            "Own-state updates written to Redis in one flush (one script call).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.cascade_duration = Histogram(
            PIPELINE_CASCADE_DURATION,
            "Duration of one Redis flush (the cascade of a batch).",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.redis_errors = Counter(
            PIPELINE_REDIS_ERRORS, "Redis flushes or checks that failed (the worker resyncs).", registry=r
        )
        self.consumer_lag = Gauge(
            PIPELINE_CONSUMER_LAG,
            "Messages not yet consumed: high watermark minus position, per assigned partition.",
            ["topic", "partition"],
            registry=r,
        )

    def serve(
        self, port: int, host: str = "0.0.0.0", *, limits: Limits | None = None, web_config: WebConfig | None = None
    ) -> WebServer:
        """Serve the registry on ``/metrics`` (any path but ``/healthz``, as ``prometheus_client`` does) in a daemon
        thread, with the TLS and basic authentication of ``web_config``; ``close()`` the returned server to stop.

        The ``*_created`` timestamp series are turned off (process-wide): dashboards never use them and they
        double the series count.
        """
        disable_created_metrics()
        handler = type("PipelineHandler", (_RegistryHandler,), {"registry": self.registry})
        return WebServer(
            handler, host, port, limits=limits, name="scorecard-worker-metrics", web_config=web_config
        ).start()

    def observe_batch(self, outcomes: Mapping[str, int], replayed: int, dead_letter_reasons: Iterable[str]) -> None:
        for outcome, count in outcomes.items():
            self.events.labels(outcome).inc(count)
        if replayed:
            self.replayed.inc(replayed)
        for reason in dead_letter_reasons:
            self.dead_letters.labels(reason).inc()

    def observe_flush(self, updates: int, seconds: float, accepted_times: Iterable[float]) -> None:
        """One Redis flush done: its size and duration, and the lag of every event whose change it carried."""
        self.cascade_batch_size.observe(updates)
        self.cascade_duration.observe(seconds)
        self.event_lag.observe_times(time.time(), accepted_times)

    def set_consumer_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """Set the per-partition lag gauges; partitions no longer assigned disappear (never all at once, so a scrape
        running meanwhile never sees the family empty)."""
        current = {(topic, str(partition)): lag for (topic, partition), lag in lags.items()}
        for labels, lag in current.items():
            self.consumer_lag.labels(*labels).set(lag)
        for family in list(self.consumer_lag.collect()):
            for sample in family.samples:
                labels = (sample.labels["topic"], sample.labels["partition"])
                if labels not in current:
                    self.consumer_lag.remove(*labels)


class LagHistogram(Collector):
    """A histogram of "now minus event time" filled a batch at a time: what ``Histogram`` would show after one
    ``observe(now - t)`` per event time ``t``, for a fraction of the cost.

    The batch's lags are computed and sorted in C (``map``, ``sorted``); then one bisection per bucket counts those
    at most its bound, instead of one observation (a lock, a search, an increment) per event.
    """

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(buckets)
        self._cumulative = [0] * (len(self.bounds) + 1)  # the last one is +Inf: every observation
        self._sum = 0.0
        self._lock = threading.Lock()  # the metrics server's thread reads while the event loop writes

    def observe_times(self, now: float, times: Iterable[float]) -> None:
        """Observe ``now - t`` for every event time ``t`` of ``times``."""
        lags = sorted(map(now.__sub__, times))
        count = len(lags)
        if not count:
            return
        at_most = [bisect.bisect_right(lags, bound) for bound in self.bounds]  # lag <= bound, as Histogram counts
        lag_sum = math.fsum(lags)
        with self._lock:
            for index, observed in enumerate(at_most):
                self._cumulative[index] += observed
            self._cumulative[-1] += count
            self._sum += lag_sum

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            cumulative, lag_sum = list(self._cumulative), self._sum
        bounds = [*(floatToGoString(bound) for bound in self.bounds), "+Inf"]
        yield HistogramMetricFamily(
            self.name, self.documentation, buckets=list(zip(bounds, cumulative, strict=True)), sum_value=lag_sum
        )


class _RegistryHandler(RequestHandler, MetricsHandler):
    """``prometheus_client.MetricsHandler`` on the bounded server: ``/healthz`` first, then its own ``do_GET``."""

    def get(self) -> None:
        MetricsHandler.do_GET(self)
