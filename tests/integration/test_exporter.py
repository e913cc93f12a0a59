"""The exporter against the real Redis, scraped over HTTP: its numbers are the replay's, and a dead Redis is said.

Redis is seeded the way the worker does it (the batch step over the ACME events with a dict for the table, then
``RedisStore.apply``); the exporter evaluates at the replay's time so every value can be compared exactly.
"""

from __future__ import annotations

import math
import os
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from scorecard.config import Settings
from scorecard.contract import INVALID_UNIT
from scorecard.core.contributions import FLOAT_TOLERANCE, contributions, scores_from_report
from scorecard.core.definition import Scorecard, load_scorecard
from scorecard.core.engine import Engine
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import ReplayResult, replay
from scorecard.outputs.exporter import ScorecardCollector, redis_client, start_server
from scorecard.redis.store import RedisStore
from streams.processor import BatchProcessor, Item, routing_key
from tests.paths import REPO as ROOT

HTTP_TIMEOUT = 10  # a hanging scrape fails the test instead of blocking the suite

Samples = dict[str, list[tuple[dict[str, str], float]]]


@pytest.fixture(scope="module")
def acme() -> Scorecard:
    return load_scorecard(ROOT / "examples" / "acme.yaml")


@pytest.fixture(scope="module")
def lines(acme_events: Path) -> list[bytes]:
    return acme_events.read_bytes().splitlines()


@pytest.fixture(scope="module")
def replayed(acme: Scorecard, lines: list[bytes]) -> ReplayResult:
    return replay(acme, lines)


@pytest.fixture
def seeded(acme: Scorecard, lines: list[bytes], redis_client: redis.Redis, unique_name) -> Iterator[RedisStore]:
    """Redis holding the ACME events' states, written by the batch step in batches of 500, as the worker does."""
    store = RedisStore(redis_client, unique_name("exporter").replace(".", "-"))
    engine = Engine(acme)
    processor = BatchProcessor(engine, {}, dict.fromkeys(engine.kpis, 3_600_000))
    items = [Item(routing_key(engine, raw), raw, 0, offset) for offset, raw in enumerate(lines)]
    store.mark_initialized()
    for start in range(0, len(items), 500):
        result = processor.process(items[start : start + 500])
        store.apply(result.updates, result.counts)
    assert INVALID_UNIT in processor.table  # the pseudo unit has a counts record the exporter must ignore
    yield store
    store.reset()


def _scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def _served(collector: ScorecardCollector) -> Iterator[str]:
    server = start_server(collector, "127.0.0.1", 0)
    try:
        yield server.url
    finally:
        server.close()


def _by_unit(samples: Samples, name: str) -> dict[str, float]:
    return {labels["unit"]: value for labels, value in samples.get(name, [])}


def _value(samples: Samples, name: str) -> float:
    ((_, value),) = samples[name]
    return value


def test_scraped_values_equal_the_replay(acme, replayed, seeded) -> None:
    assert replayed.at is not None
    report = replayed.evaluate()
    for url in _served(ScorecardCollector(acme, seeded, clock=lambda: replayed.at)):
        samples = _scrape(url)
    assert _value(samples, "scorecard_exporter_redis_up") == 1
    assert _value(samples, "scorecard_exporter_scrape_errors_total") == 0
    values = {(labels["unit"], labels["kpi"]): v for labels, v in samples["scorecard_kpi_value"]}
    statuses = {(labels["unit"], labels["kpi"]): v for labels, v in samples["scorecard_kpi_status"]}
    compared = 0
    for unit in ("acme", "sales", "sales-apac", "support-l1", "ops-plant-b", "people"):
        for kpi_id, kpi in report["units"][unit]["kpis"].items():
            assert values.get((unit, kpi_id)) == kpi["value"], (unit, kpi_id)
            expected_status = {"green": 2.0, "amber": 1.0, "red": 0.0}.get(kpi["status"])
            assert statuses.get((unit, kpi_id)) == expected_status, (unit, kpi_id)
            compared += kpi["value"] is not None
        assert _by_unit(samples, "scorecard_unit_score")[unit] == report["units"][unit]["score"]
    assert compared > 30
    assert any(kpi["value"] is None for kpi in report["units"]["people"]["kpis"].values())  # absent samples checked


def test_contributions_sum_to_the_unit_score(acme, replayed, seeded) -> None:
    """scorecard_kpi_contribution over HTTP from the real Redis: per unit the samples sum to scorecard_unit_score, and
    each is the exact contribution of docs/semantics.md section 7, within FLOAT_TOLERANCE."""
    assert replayed.at is not None
    report = replayed.evaluate()
    exact = contributions(acme, replayed.tree, scores_from_report(report))
    for url in _served(ScorecardCollector(acme, seeded, clock=lambda: replayed.at)):
        samples = _scrape(url)
    scores = _by_unit(samples, "scorecard_unit_score")
    shares: dict[str, dict[str, float]] = {}
    for labels, value in samples["scorecard_kpi_contribution"]:
        shares.setdefault(labels["unit"], {})[labels["kpi"]] = value
        assert labels["perspective"] == exact.perspective_of[labels["kpi"]]
    assert set(shares) == set(scores) == set(report["units"])
    for unit, mine in shares.items():
        assert abs(math.fsum(mine.values()) - scores[unit]) <= FLOAT_TOLERANCE, unit
        assert mine.keys() == exact.kpis[unit].keys()
        assert all(abs(v - float(exact.kpis[unit][k])) <= FLOAT_TOLERANCE for k, v in mine.items())


def test_info_series_and_last_event_time(acme, replayed, seeded) -> None:
    for url in _served(ScorecardCollector(acme, seeded, clock=lambda: replayed.at)):
        samples = _scrape(url)
    units = {labels["unit"]: labels for labels, _ in samples["scorecard_unit_info"]}
    assert units["ops-plant-a"] == {
        "unit": "ops-plant-a",
        "name": "Plant A (Lyon)",
        "parent": "operations",
        "depth": "2",
        "owner": "plant-a-management",
    }
    assert units["acme"]["parent"] == "" and units["acme"]["depth"] == "0"
    kpis = {labels["kpi"]: labels for labels, _ in samples["scorecard_kpi_info"]}
    assert set(kpis) == {k.id for k in acme.kpis}
    assert kpis["revenue"]["display_unit"] == "EUR" and kpis["revenue"]["polarity"] == "higher_is_better"

    tree = OrgTree.from_scorecard(acme)
    newest = _by_unit(samples, "scorecard_last_event_timestamp_seconds")
    for unit in tree.units:
        times = [replayed.states[u].stream_time for u in tree.descendants_or_self(unit) if u in replayed.states]
        assert newest[unit] == max(t for t in times if t is not None), unit
    assert newest["acme"] == replayed.newest
    assert newest["sales-na"] < newest["acme"]  # a leaf's own time, not the company's


def test_max_depth_limits_every_unit_series(acme, replayed, seeded) -> None:
    shallow = acme.model_copy(update={"export": acme.export.model_copy(update={"max_depth": 1})})
    for url in _served(ScorecardCollector(shallow, seeded, clock=lambda: replayed.at)):
        samples = _scrape(url)
    expected = {"acme", "sales", "support", "operations", "people"}
    for name, rows in samples.items():
        units = {labels["unit"] for labels, _ in rows if "unit" in labels}
        assert units <= expected, name
    assert set(_by_unit(samples, "scorecard_unit_score")) == expected
    assert {labels["unit"] for labels, _ in samples["scorecard_kpi_value"]} == expected
    assert len(samples["scorecard_kpi_info"]) == len(acme.kpis)  # KPIs are not cut by depth


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redis_down_answers_at_once_without_values(acme, replayed) -> None:
    store = RedisStore(redis_client(f"redis://127.0.0.1:{_closed_port()}/0"), "exporter-down")
    for url in _served(ScorecardCollector(acme, store, clock=lambda: replayed.at)):
        first, second = _scrape(url), _scrape(url)
    assert _value(first, "scorecard_exporter_redis_up") == 0
    assert _value(first, "scorecard_exporter_scrape_errors_total") == 1
    assert _value(second, "scorecard_exporter_scrape_errors_total") == 2
    for name in ("scorecard_kpi_value", "scorecard_kpi_score", "scorecard_unit_score", "scorecard_perspective_score"):
        assert name not in second
    assert len(second["scorecard_unit_info"]) == len(OrgTree.from_scorecard(acme))  # the definition is not data


def test_redis_that_never_answers_times_out(acme, replayed) -> None:
    """A Redis that accepts connections and then says nothing: the socket timeout, not the scrape, gives up."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # connections complete in the backlog and are never read
        store = RedisStore(redis_client(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", timeout=0.3), "silent")
        for url in _served(ScorecardCollector(acme, store, clock=lambda: replayed.at)):
            samples = _scrape(url)
    assert _value(samples, "scorecard_exporter_redis_up") == 0
    assert "scorecard_kpi_value" not in samples


def test_redis_back_after_an_outage_serves_values_again(acme, replayed, seeded) -> None:
    """The same collector recovers: values return and the error counter keeps its count."""
    dead = RedisStore(redis_client(f"redis://127.0.0.1:{_closed_port()}/0"), seeded.keys.app_id)
    collector = ScorecardCollector(acme, dead, clock=lambda: replayed.at)
    for url in _served(collector):
        down = _scrape(url)
        collector.store = seeded
        up = _scrape(url)
    assert _value(down, "scorecard_exporter_redis_up") == 0
    assert _value(up, "scorecard_exporter_redis_up") == 1
    assert _value(up, "scorecard_exporter_scrape_errors_total") == 1
    report = replayed.evaluate()
    expected = sum(kpi["value"] is not None for unit in report["units"].values() for kpi in unit["kpis"].values())
    assert len(up["scorecard_kpi_value"]) == expected


def test_the_command_serves_metrics(settings: Settings, seeded) -> None:
    """`scorecard exporter` as a process: flags and environment reach the collector, /metrics answers."""
    command = [str(Path(sys.executable).with_name("scorecard")), "exporter", "--scorecard", "examples/acme.yaml"]
    environment = {
        **os.environ,
        "SCORECARD_REDIS_URL": settings.redis_url,
        "SCORECARD_APP_ID": seeded.keys.app_id,
        "SCORECARD_EXPORTER_PORT": "0",
    }
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1"], cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # "serving http://127.0.0.1:PORT/metrics"
        found = re.search(r"http://\S+/metrics", line)
        assert found, line
        samples = _scrape(found.group(0))
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert _value(samples, "scorecard_exporter_redis_up") == 1
    assert len(samples["scorecard_unit_info"]) == 12
    assert "scorecard_last_event_timestamp_seconds" in samples  # states of this app id were read (values are "now")
