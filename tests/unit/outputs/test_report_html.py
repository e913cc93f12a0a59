"""The HTML report builder: escaping, no-data KPIs, units without goals, sparklines, a self-contained page, the CLI.

A tiny scorecard with hostile names (``<``, ``>``, ``&``, quotes) is replayed over three days of events; every
expectation below is worked out from those events by hand or read from the replay's own JSON report, never from the
page itself. The browser checks (rendering, console, screenshot) are in tests/integration/test_report_browser.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.core.definition import Scorecard, parse_scorecard
from scorecard.core.replay import ReplayResult, replay
from scorecard.core.timeutil import parse_time
from scorecard.core.trends import TrendPoint, replay_trends
from scorecard.outputs.report_html import build_view, format_number, render_html
from tests.paths import REPO

DEFINITION = """
name: "R&D <Board> \\"monthly\\""
description: "<script>alert('x')</script> & more"
org:
  id: root
  name: "Root & <Co>"
  children:
    - {id: a, name: "<b>Team A</b>", owner: "x&y"}
    - {id: b, name: Team B}
    - {id: c, name: Team C}
objectives:
  - {id: grow, perspective: financial, name: "Grow <fast> & well"}
  - {id: happy, perspective: customer, name: Happy}
kpis:
  - id: revenue
    name: "Revenue <EUR> & co"
    objective: grow
    unit: EUR
    aggregation: sum
    source: {event: sale, field: amount}
    window: {kind: tumbling, size: 1d}
    pace: none
    targets:
      a: {goal: 100, red_flag: 50}
      b: {goal: 100, red_flag: 50}
  - id: nps
    name: NPS
    objective: happy
    aggregation: nps
    source: {event: survey, field: score}
    window: {kind: tumbling, size: 1d}
    goal: 30
    red_flag: 0
"""

# Team A sells 60 EUR on Nov 2 (amber: between red flag 50 and goal 100) and 120 EUR on Nov 3 (green); nothing on
# Nov 1 (so no trend point that day); Team B and Team C sell nothing; nobody answers a survey (NPS: no data).
EVENTS = [
    {"id": "s1", "type": "sale", "unit": "a", "time": "2026-11-02T10:00:00Z", "fields": {"amount": 60}},
    {"id": "s2", "type": "sale", "unit": "a", "time": "2026-11-03T10:00:00Z", "fields": {"amount": 120}},
]


@pytest.fixture(scope="module")
def scorecard() -> Scorecard:
    return parse_scorecard(DEFINITION, "hostile.yaml")


@pytest.fixture(scope="module")
def result(scorecard: Scorecard) -> ReplayResult:
    return replay(scorecard, [orjson.dumps(e) for e in EVENTS])


@pytest.fixture(scope="module")
def page(scorecard: Scorecard, result: ReplayResult) -> str:
    document = result.evaluate()
    return render_html(scorecard, document, trends=replay_trends(result, result.at, 5, document), source="<test>")


class _Page(HTMLParser):
    """Tags, attributes and text of a page as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Page:
    parser = _Page()
    parser.feed(html)
    parser.close()
    return parser


def _row(scorecard: Scorecard, result: ReplayResult, unit: str, kpi: str):
    view = build_view(scorecard, result.evaluate(), trends=replay_trends(result, result.at, 5))
    (unit_view,) = [u for u in view.units if u.id == unit]
    rows = [r for p in unit_view.perspectives for o in p.objectives for r in o.kpis if r.id == kpi]
    assert len(rows) == 1
    return rows[0]


def test_names_with_markup_characters_are_text_not_markup(page: str) -> None:
    parsed = _parse(page)
    text = "".join(parsed.text)
    for name in ("R&D <Board> \"monthly\"", "<script>alert('x')</script> & more", "Root & <Co>", "<b>Team A</b>",
                 "Grow <fast> & well", "Revenue <EUR> & co", "x&y", "<test>"):  # fmt: skip
        assert name in text, name
    tags = {tag for tag, _ in parsed.tags}
    assert "script" not in tags and "b" not in tags and "board" not in tags and "fast" not in tags
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in page


def test_a_kpi_without_data_says_no_data_in_words(scorecard: Scorecard, result: ReplayResult) -> None:
    for unit in ("root", "a", "b", "c"):
        row = _row(scorecard, result, unit, "nps")
        assert (row.value, row.score, row.status.key, row.status.word) == ("no data", "—", "no_data", "no data")
        assert row.trend is None and row.trend_text == "no earlier window"  # no survey: no NPS bucket, no history


def test_units_without_goals_are_scored_from_sub_units_or_say_no_goal(scorecard: Scorecard, result) -> None:
    report = result.evaluate()["units"]
    root = _row(scorecard, result, "root", "revenue")
    assert (root.goal, root.red_flag) == ("from sub-units", "—")
    # root: A scores 20/3 + (120 - 100) / 50 * 10/3 = 8.0 (green), B sells nothing: 0.0; C has no goal: ignored
    assert report["root"]["kpis"]["revenue"]["score"] == pytest.approx(4.0)
    assert (root.value, root.score, root.status.word) == ("120 EUR", "4.0", "amber")
    leaf = _row(scorecard, result, "c", "revenue")
    assert (leaf.goal, leaf.red_flag, leaf.score, leaf.status.word) == ("no goal", "—", "—", "no data")
    assert leaf.value == "0 EUR"  # a sum of no events is 0, and still shown
    team_a = _row(scorecard, result, "a", "revenue")
    assert (team_a.goal, team_a.red_flag, team_a.better) == ("100 EUR", "50 EUR", "↑ higher is better")


def test_trend_has_one_dot_per_window_with_a_value_coloured_and_worded(scorecard: Scorecard, result) -> None:
    row = _row(scorecard, result, "a", "revenue")
    assert row.trend is not None
    # Nov 1 holds no bucket: the trend starts on Nov 2 (60, amber) and ends with the reported Nov 3 (120, green)
    assert [d.status for d in row.trend.dots] == ["amber", "green"]
    assert row.trend.dots[0].y > row.trend.dots[1].y  # 60 is drawn below 120 (SVG y grows downwards)
    assert "60 EUR amber; 120 EUR green" in row.trend.label
    assert row.trend.goal_y is not None and row.trend.red_flag_y is not None
    assert row.trend.red_flag_y > row.trend.goal_y  # higher is better: the red flag line lies below the goal line


def test_a_window_without_value_breaks_the_line() -> None:
    from zoneinfo import ZoneInfo

    from scorecard.outputs.report_html import _sparkline

    day = 86_400
    values = [1.0, 2.0, None, 3.0, 4.0]
    points = [TrendPoint(i * day, (i + 1) * day, v, None, "green" if v else "no_data") for i, v in enumerate(values)]
    spark = _sparkline(points, None, None, "h", ZoneInfo("UTC"))
    assert spark is not None
    assert len(spark.segments) == 2 and len(spark.dots) == 4
    assert "no data" in spark.label
    assert _sparkline(points[:1], None, None, None, ZoneInfo("UTC")) is None


def test_the_page_makes_no_external_request(page: str) -> None:
    parsed = _parse(page)
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "source"}
    for tag, attrs in parsed.tags:
        assert "src" not in attrs, tag
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), (tag, attrs)
    assert re.findall(r"\w+://[^\s\"')]*", page) == ["http://www.w3.org/2000/svg"] * page.count("<svg ")
    assert "@import" not in page and "url(" not in page


def test_overview_lists_every_unit_with_its_score_in_tree_order(scorecard: Scorecard, result: ReplayResult) -> None:
    report = result.evaluate()
    view = build_view(scorecard, report)
    assert [u.id for u in view.units] == ["root", "a", "b", "c"]
    assert [u.depth for u in view.units] == [0, 1, 1, 1]
    for unit in view.units:
        expected = report["units"][unit.id]["score"]
        assert unit.score == ("—" if expected is None else f"{expected:.1f}")
        assert unit.status.key == report["units"][unit.id]["status"]
    assert dict(view.events)["accepted"] == 2


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (-0.001, "0"),
        (2.0, "2"),
        (4.4, "4.4"),
        (3.871, "3.87"),
        (98.04, "98"),
        (116.66, "116.7"),
        (1455169.1, "1,455,169"),
        (-4.76, "-4.76"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_cli_report_from_a_replay_writes_the_page_and_the_json(tmp_path: Path) -> None:
    definition = str(REPO / "examples/acme.yaml")
    events = str(REPO / "examples/acme-events.jsonl")
    out = tmp_path / "deep" / "scorecard.html"
    runner = CliRunner()
    done = runner.invoke(main, ["report", "--scorecard", definition, "--events", events, "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert f"wrote {out}" in done.stdout
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "ACME scorecard" in html and "replay of acme-events.jsonl" in html
    as_json = runner.invoke(main, ["report", "--scorecard", definition, "--events", events, "--format", "json"])
    replayed = runner.invoke(main, ["replay", definition, events, "--format", "json"])
    assert as_json.exit_code == replayed.exit_code == 0
    assert as_json.stdout_bytes == replayed.stdout_bytes


def test_cli_report_refuses_a_bad_time() -> None:
    definition, events = str(REPO / "examples/acme.yaml"), str(REPO / "examples/acme-events.jsonl")
    done = CliRunner().invoke(main, ["report", "--scorecard", definition, "--events", events, "--at", "yesterday"])
    assert done.exit_code == 2
    assert "--at" in done.output


PACED_DEFINITION = """
name: Paced
timezone: Europe/Berlin
org: {id: shop}
objectives: [{id: sell, perspective: financial}]
kpis:
  - {id: revenue, name: Revenue, objective: sell, unit: EUR, aggregation: sum, source: {event: sale, field: amount},
     window: {kind: calendar, period: month}, goal: 3000, red_flag: 1500}
"""


def test_a_paced_kpi_shows_its_goal_to_date_elapsed_share_and_forecast() -> None:
    scorecard = parse_scorecard(PACED_DEFINITION)
    line = b'{"id": "s1", "type": "sale", "unit": "shop", "time": "2026-11-10T10:00:00Z", "fields": {"amount": 1600}}'
    result = replay(scorecard, [line])
    report = result.evaluate(parse_time("2026-11-15T23:00:00Z"))  # Nov 16 00:00 in Berlin: half the month
    view = build_view(scorecard, report)
    (row,) = [r for u in view.units for p in u.perspectives for o in p.objectives for r in o.kpis]
    assert (row.value, row.goal, row.red_flag) == ("1,600 EUR", "1,500 EUR", "750 EUR")  # to date
    assert row.pace == "50% of the period elapsed · forecast 3,200 EUR · period goal 3,000 EUR"
    page = render_html(scorecard, report)
    assert "50% of the period elapsed · forecast 3,200 EUR · period goal 3,000 EUR" in page
    assert '1,500 EUR<div class="details">to date</div>' in page
