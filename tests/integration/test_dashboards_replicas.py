"""Two exporter replicas behind one Prometheus: every scorecard panel of the generated boards shows what one shows.

Replicas of the exporter serve the same series; Prometheus tells them apart only by ``instance``. A panel that
queried the raw series would show every stat twice (and a ``sum`` would double it); the line-of-sight join would even
fail (two info series per unit make it many-to-many). Here a Prometheus of this test's own (started by
``deploy/local/services`` with a generated config) scrapes two targets of job ``scorecard-exporter`` that serve the
same recorded exposition: the exporter's rendering of the ACME replay. Each board query is run while only the first
replica is up and again once the second one is scraped too; the answers must be the same series with the same
values. The test first shows that the setup really holds two replicas: the raw series come twice and their sum is
doubled.

Panels of the exporter's own health (collection duration, Redis up, scrape targets) are per instance by design and
not compared; the worker's panels (no worker here) answer empty both times.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scorecard.core.definition import Scorecard, load_scorecard
from scorecard.core.evaluation import buckets_at, score_units, subtree_states
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import replay
from scorecard.core.updates import Counts
from scorecard.outputs.dashboards import build_boards, panel_queries
from scorecard.outputs.exporter import ScorecardCollector, exposition, redis_client
from scorecard.redis.store import RedisStore
from tests.integration.pipeline import free_port, run_services, wait_until
from tests.integration.promql import run_query
from tests.paths import ACME

# Values of the board variables with data in the ACME replay: the root, and a unit with children and targets.
VALUES = {
    "scorecard-overview": {"unit": "acme"},
    "scorecard-kpi": {"unit": "sales", "kpi": "online-basket"},
    "scorecard-pipeline": {},
}
PER_INSTANCE = ("scorecard_exporter_", "up{")


def recorded_exposition(scorecard: Scorecard, events: Path) -> bytes:
    """What the exporter serves for the replay of ``events`` at the replay's time (its rendering, without Redis)."""
    result = replay(scorecard, events.read_bytes().splitlines())
    assert result.at is not None
    tree = OrgTree.from_scorecard(scorecard)
    subtree = subtree_states(scorecard, tree, result.own_states(), buckets_at(scorecard, result.at))
    counts = Counts({u: {"stream_time": s.stream_time} for u, s in result.states.items()}, {})
    # Redis is a closed port: only scrape() would use it, and families() does not.
    collector = ScorecardCollector(scorecard, RedisStore(redis_client("redis://127.0.0.1:1/0"), "unit"))
    families = [collector.layout.unit_info, collector.layout.kpi_info]
    families += collector.families(score_units(scorecard, tree, subtree, result.at), counts)
    return exposition(families)


class Replica:
    """An HTTP server answering every GET with the same exposition, as one exporter replica would."""

    def __init__(self, port: int, body: bytes) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PrivatePrometheus:
    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url = url
        self.env = env

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = run_query(self.url, expr)
        assert answer.get("status") == "success", (expr, answer)
        return list(answer["data"]["result"])


@pytest.fixture
def replicas(tmp_path: Path, acme_events: Path) -> Iterator[tuple[PrivatePrometheus, list[int], bytes]]:
    """A private Prometheus scraping two exporter targets every second; no replica is serving yet."""
    ports = [free_port(), free_port()]
    targets = [f"127.0.0.1:{port}" for port in ports]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "scorecard-exporter", "static_configs": [{"targets": targets}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "SCORECARD_PROMETHEUS_URL": url,
        "SCORECARD_SERVICES_DIR": str(tmp_path / "services"),
        "SCORECARD_PROMETHEUS_CONFIG": str(tmp_path / "prometheus.yml"),
    }
    run_services(env, "up", "prometheus")
    try:
        yield PrivatePrometheus(url, env), ports, recorded_exposition(load_scorecard(ACME), acme_events)
    finally:
        run_services(env, "down", "prometheus")


def answers(prometheus: PrivatePrometheus, scorecard: Scorecard) -> dict[tuple[str, str, str], Any]:
    """Every compared panel query's answer: its series (labels) and values, time() ones by series only."""
    found: dict[tuple[str, str, str], Any] = {}
    for board in build_boards(scorecard):
        for title, expr in panel_queries(board, VALUES[board["uid"]]):
            if any(marker in expr for marker in PER_INSTANCE):
                continue
            result = prometheus.query(expr)
            series = sorted(tuple(sorted(r["metric"].items())) for r in result)
            values = sorted((tuple(sorted(r["metric"].items())), r["value"][1]) for r in result)
            found[(board["uid"], title, expr)] = series if "time()" in expr else values
    return found


def test_two_exporter_replicas_change_no_panel(replicas: tuple[PrivatePrometheus, list[int], bytes]) -> None:
    prometheus, ports, body = replicas
    scorecard = load_scorecard(ACME)
    first = Replica(ports[0], body)
    try:
        wait_until(lambda: len(prometheus.query('up{job="scorecard-exporter"} == 1')) == 1, 60, "replica 1 scraped")
        wait_until(lambda: bool(prometheus.query("scorecard_unit_score")), 30, "replica 1's series")
        one = answers(prometheus, scorecard)
        with_data = [key for key, answer in one.items() if answer]
        assert len(with_data) >= 25, sorted(set(one) - set(with_data))

        second = Replica(ports[1], body)
        try:
            wait_until(lambda: len(prometheus.query('up{job="scorecard-exporter"} == 1')) == 2, 60, "replica 2 scraped")
            wait_until(lambda: len(prometheus.query('scorecard_unit_score{unit="acme"}')) == 2, 30, "both replicas")
            time.sleep(1.5)  # one more scrape of each, so no query meets a replica half-ingested
            # The setup holds two replicas: the raw series twice, a sum doubled.
            (total,) = prometheus.query('sum(scorecard_unit_score{unit="acme"})')
            (single,) = prometheus.query(f'scorecard_unit_score{{unit="acme",instance="127.0.0.1:{ports[0]}"}}')
            assert float(total["value"][1]) == pytest.approx(2 * float(single["value"][1]))
            two = answers(prometheus, scorecard)
        finally:
            second.close()
    finally:
        first.close()
    differing = {key: (one[key], two[key]) for key in one if one[key] != two[key]}
    assert not differing, "\n".join(
        f"{uid} / {title}: {expr}\n  {a}\n  {b}" for (uid, title, expr), (a, b) in differing.items()
    )
