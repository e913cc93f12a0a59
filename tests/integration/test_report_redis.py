"""`scorecard report` from the live scorecard in the real Redis shows the replay's numbers, trend included.

Redis is seeded the way the worker does it, without Kafka: examples/acme-events.jsonl routed to partitions by unit,
processed in batches by ``streams.processor.BatchProcessor`` over a dict table, each batch cascaded with
``RedisStore.apply``. Then the page `scorecard report` renders from Redis is compared, cell by cell, with the page it
renders from a replay of the same file at the same time, and every value shown with the replay's JSON report.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.core.definition import Scorecard, load_scorecard
from scorecard.core.engine import Engine, compile_kpis
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import replay
from scorecard.core.timeutil import format_time
from scorecard.redis.store import RedisStore
from streams.processor import BatchProcessor, Item, routing_key
from streams.topics import partition_for
from tests.paths import ACME

PARTITIONS = 3
BATCH = 250
CELLS = ("name", "value", "goal", "red_flag", "better", "score", "status", "trend")


class _KpiRows(HTMLParser):
    """(unit, KPI) -> the text of each cell of its row, plus the trend's aria-label (the sparkline's values)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[tuple[str, str], list[str]] = {}
        self._unit = ""
        self._row: list[str] | None = None
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and (found.get("id") or "").startswith("unit-"):
            self._unit = (found["id"] or "").removeprefix("unit-")
        elif tag == "tr" and found.get("class") == "kpi":
            self._row = []
            self.rows[(self._unit, found["data-kpi"] or "")] = self._row
        elif tag == "td" and self._row is not None:
            self._row.append("")
            self._in_cell = True
        elif tag == "svg" and self._row is not None:
            self._row[-1] += found.get("aria-label") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_cell = False
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._in_cell:
            self._row[-1] += data

    @classmethod
    def of(cls, html: str) -> dict[tuple[str, str], dict[str, str]]:
        parser = cls()
        parser.feed(html)
        return {
            key: dict(zip(CELLS, (" ".join(c.split()) for c in cells), strict=True))
            for key, cells in parser.rows.items()
        }


@pytest.fixture
def seeded(redis_client: redis.Redis, unique_name, acme_events: Path) -> Iterator[str]:
    """An app id whose Redis keys hold ACME's events as the worker would have written them."""
    app_id = unique_name("report").replace(".", "-")
    store = RedisStore(redis_client, app_id)
    scorecard = load_scorecard(ACME)
    engine = Engine(scorecard)
    processor = BatchProcessor(engine, {}, dict.fromkeys(engine.kpis, 3_600_000))
    store.mark_initialized()
    lines = [line for line in acme_events.read_bytes().splitlines() if line.strip()]
    by_partition: dict[int, list[Item]] = {p: [] for p in range(PARTITIONS)}
    for raw in lines:
        key = routing_key(engine, raw)
        partition = partition_for(key, PARTITIONS)
        by_partition[partition].append(Item(key, raw, partition, len(by_partition[partition])))
    for items in by_partition.values():
        for start in range(0, len(items), BATCH):
            result = processor.process(items[start : start + BATCH])
            store.apply(result.updates, result.counts)
    yield app_id
    store.reset()


def _number(text: str) -> float:
    match = re.match(r"-?[\d,]+(\.\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group(0).replace(",", ""))


def test_the_live_page_shows_the_replay_numbers(seeded, settings, tmp_path: Path, acme_events: Path) -> None:
    app_id = seeded
    scorecard = load_scorecard(ACME)
    expected = replay(scorecard, acme_events.read_bytes().splitlines())
    at = format_time(expected.at)
    runner = CliRunner()
    live_path, replay_path = tmp_path / "live.html", tmp_path / "replay.html"
    common = ["report", "--scorecard", str(ACME), "--at", at, "--trend", "1"]
    live = runner.invoke(main, [*common, "--redis-url", settings.redis_url, "--app-id", app_id, "-o", str(live_path)])
    assert live.exit_code == 0, live.output
    replayed = runner.invoke(main, [*common, "--events", str(acme_events), "-o", str(replay_path)])
    assert replayed.exit_code == 0, replayed.output

    live_html = live_path.read_text(encoding="utf-8")
    live_rows = _KpiRows.of(live_html)
    units = OrgTree.from_scorecard(scorecard).units
    assert set(live_rows) == {(unit, kpi.id) for unit in units for kpi in scorecard.kpis}
    assert live_rows == _KpiRows.of(replay_path.read_text(encoding="utf-8"))
    assert f"app id {app_id}" in live_html

    report = expected.evaluate()
    with_trend = 0
    for (unit, kpi_id), cells in live_rows.items():
        result = report["units"][unit]["kpis"][kpi_id]
        if result["value"] is None:
            assert cells["value"] == "no data"
        else:
            assert _number(cells["value"]) == pytest.approx(result["value"], rel=0.0051, abs=0.0051), (unit, kpi_id)
        assert cells["score"] == ("—" if result["score"] is None else f"{result['score']:.1f}")
        assert result["status"].replace("_", " ") in cells["status"]
        if cells["trend"].startswith("last 2 windows"):  # the previous window, still held by Redis
            previous = expected.evaluate(_previous_end(scorecard, kpi_id, expected.at) - 1)
            then = previous["units"][unit]["kpis"][kpi_id]["value"]
            first = cells["trend"].split(": ", 1)[1].split(";")[0]
            if then is None:
                assert first.startswith("no data"), (unit, kpi_id)
            else:
                assert _number(first) == pytest.approx(then, rel=0.0051, abs=0.0051), (unit, kpi_id)
            with_trend += 1
    assert with_trend > len(units)  # tumbling, rolling and weekly KPIs have a previous window in two weeks of events
    for unit in units:
        assert f'href="#unit-{unit}"' in live_html
    counts = report["events"]
    assert f"{counts['accepted']:,} accepted" in live_html and f"{counts['invalid']:,} invalid" in live_html


def _previous_end(scorecard: Scorecard, kpi_id: str, at: float) -> int:
    """End of the window before the one reported at ``at``: where the reported one starts."""
    return compile_kpis(scorecard)[kpi_id].window.span(at)[0]


def test_the_page_and_the_messages_name_no_redis_password(seeded, settings, tmp_path: Path) -> None:
    """A password given in the Redis URL (here ``?password=``, which redis-py reads) appears nowhere: not in the page's
    source line, not in what the commands print. Redis's default user takes any password when it has none."""
    parts = urlsplit(settings.redis_url)
    if parts.password:  # the services run with a password: it is the secret to hide
        url, secret = settings.redis_url, parts.password
    else:
        secret = "Pa55-w0rd-in-the-query"
        url = f"{settings.redis_url}{'&' if parts.query else '?'}username=default&password={secret}"
    page = tmp_path / "live.html"
    runner = CliRunner()
    written = runner.invoke(
        main, ["report", "--scorecard", str(ACME), "--redis-url", url, "--app-id", seeded, "-o", str(page)]
    )
    assert written.exit_code == 0, written.output
    html = page.read_text(encoding="utf-8")
    assert f"app id {seeded}" in html and "***" in html
    missing = runner.invoke(
        main, ["status", "--scorecard", str(ACME), "--redis-url", url, "--app-id", f"{seeded}-none"]
    )
    assert missing.exit_code == 1 and "no live scorecard" in missing.output
    for text in (html, written.output, missing.output):
        assert secret not in text


def test_status_kpis_csv_from_redis_matches_the_replay(seeded, settings, acme_events: Path) -> None:
    """`status --kpis --format csv` reads Redis; `replay --kpis --format csv` of the same events at the same time
    gives the same rows (values and forecasts within the store's fixed-point rounding), and the `--kpis` table has
    every row."""
    scorecard = load_scorecard(ACME)
    at = format_time(replay(scorecard, acme_events.read_bytes().splitlines()).at)
    runner = CliRunner(env={"COLUMNS": "200"})
    status = ["status", "--scorecard", str(ACME), "--redis-url", settings.redis_url, "--app-id", seeded, "--at", at]
    live = runner.invoke(main, [*status, "--kpis", "--format", "csv"])
    replayed = runner.invoke(main, ["replay", str(ACME), str(acme_events), "--at", at, "--kpis", "--format", "csv"])
    assert live.exit_code == 0 and replayed.exit_code == 0, live.output + replayed.output
    live_rows = list(csv.DictReader(io.StringIO(live.stdout, newline="")))
    replay_rows = list(csv.DictReader(io.StringIO(replayed.stdout, newline="")))
    assert len(live_rows) == len(OrgTree.from_scorecard(scorecard).units) * len(scorecard.kpis)
    assert len(live_rows) == len(replay_rows)
    for got, want in zip(live_rows, replay_rows, strict=True):
        assert {k: got[k] for k in ("at", "unit_id", "kpi_id", "goal", "red_flag", "status", "window_start")} == {
            k: want[k] for k in ("at", "unit_id", "kpi_id", "goal", "red_flag", "status", "window_start")
        }
        if want["value"]:
            assert float(got["value"]) == pytest.approx(float(want["value"]), rel=1e-9, abs=0.0051)
        else:
            assert got["value"] == ""
        # the pace columns: the same period, share and targets; the forecast is the value over the share
        assert {k: got[k] for k in ("period_goal", "period_red_flag", "elapsed")} == {
            k: want[k] for k in ("period_goal", "period_red_flag", "elapsed")
        }
        if want["forecast"]:
            tolerance = 0.0051 / float(want["elapsed"])
            assert float(got["forecast"]) == pytest.approx(float(want["forecast"]), rel=1e-9, abs=tolerance)
        else:
            assert got["forecast"] == ""
    assert any(row["elapsed"] for row in replay_rows) and any(not row["elapsed"] for row in replay_rows)
    table = runner.invoke(main, [*status, "--kpis"])
    assert table.exit_code == 0
    rows = [line for line in table.stdout.splitlines()[3:-1] if line.strip()]
    assert len(rows) == len(live_rows)
