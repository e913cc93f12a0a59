"""The event-lag histogram filled a batch at a time shows what ``prometheus_client.Histogram`` shows after one
observation per event (``streams/metrics.py``, ``LagHistogram``)."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from streams.metrics import LAG_BUCKETS, LagHistogram, PipelineMetrics

NAME = "lag_seconds"
NOW = 1_796_000_000.25


def exposition(batches: list[list[float]], bulk: bool) -> bytes:
    registry = CollectorRegistry()
    if bulk:
        histogram = LagHistogram(NAME, "lag", LAG_BUCKETS)
        registry.register(histogram)
        for times in batches:
            histogram.observe_times(NOW, times)
    else:
        reference = Histogram(NAME, "lag", buckets=LAG_BUCKETS, registry=registry)
        for times in batches:
            for t in times:
                reference.observe(NOW - t)
    lines = generate_latest(registry).splitlines()
    return b"\n".join(line for line in lines if b"_created" not in line)  # the reference's creation time


lags = st.one_of(
    st.sampled_from([0.0, *LAG_BUCKETS, 10 * 86400.0, -5.0]),  # on the bounds, beyond the last, in the future
    st.floats(min_value=-60, max_value=30 * 86400, allow_nan=False),
)


@given(st.lists(st.lists(lags.map(lambda lag: NOW - lag), max_size=50), max_size=5))
def test_bulk_observation_equals_one_observation_per_event(batches: list[list[float]]) -> None:
    bulk, reference = exposition(batches, bulk=True), exposition(batches, bulk=False)
    bulk_lines, reference_lines = bulk.splitlines(), reference.splitlines()
    assert [line for line in bulk_lines if b"_sum" not in line] == [
        line for line in reference_lines if b"_sum" not in line
    ]
    (bulk_sum,) = [float(line.split()[-1]) for line in bulk_lines if b"_sum" in line]
    (reference_sum,) = [float(line.split()[-1]) for line in reference_lines if b"_sum" in line]
    assert abs(bulk_sum - reference_sum) <= 1e-6 * max(1.0, abs(reference_sum))


def test_the_worker_exposes_the_lag_under_its_contract_name() -> None:
    metrics = PipelineMetrics()
    now = time.time()
    metrics.observe_flush(3, 0.002, [now - 0.2, now - 7200.0])
    text = generate_latest(metrics.registry).decode()
    assert 'scorecard_pipeline_event_lag_seconds_bucket{le="0.25"} 1.0' in text
    assert 'scorecard_pipeline_event_lag_seconds_bucket{le="+Inf"} 2.0' in text
    assert "scorecard_pipeline_event_lag_seconds_count 2.0" in text
