"""`scorecard replay`: the JSON report of a hand-checked case byte for byte, the table, invalid events on stderr and
in --errors, --at, failures, and the shipped ACME example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from scorecard.cli import main
from tests.paths import REPLAY_FIXTURES as FIXTURES
from tests.paths import REPO

SHOP = str(FIXTURES / "shop.yaml")
SHOP_EVENTS = str(FIXTURES / "shop-events.jsonl")


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


DAY = {"start": "2026-11-27T00:00:00Z", "end": "2026-11-28T00:00:00Z"}
MONTH = {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}

# Worked out by hand from shop.yaml and shop-events.jsonl:
# - o1, o2, o3, s1-s4 accepted (7); o1 again is a duplicate; o4 (08:30) is older than north's 10:00 - 1h: late;
#   s5 (NPS 12), "oops" and the unit "west" are invalid; page_viewed is ignored.
# - north: revenue 120 + 30 = 150 = goal + (goal - red flag): 10; NPS 2 promoters of 2 = 100: 10.
# - south: revenue 150, halfway from red flag 100 to goal 200: 10/3 + 10/3 / 2 = 5.0; NPS 3 and 8 -> (0 - 1) / 2
#   = -50 = red flag - 50: 0; overall (5 * 2 + 0 * 1) / 3 = 10/3, exactly the amber threshold.
# - shop: revenue has no goal: (10 * 1 + 5 * 3) / 4 = 6.25 from its stores (value 300 still shown); NPS of the
#   4 answers 10, 9, 8, 3 -> (2 - 1) / 4 = 25: 5.0; overall (6.25 * 2 + 5 * 1) / 3 = 5.8333...
# - neither KPI is paced (revenue says pace: none, an NPS never is): the period pair is the pair, no elapsed share.
EXPECTED: dict[str, Any] = {
    "at": "2026-11-27T10:06:00Z",
    "events": {"accepted": 7, "duplicate": 1, "late": 1, "invalid": 3, "ignored": 1},
    "units": {
        "shop": {
            "score": 5.833333333333333,
            "status": "amber",
            "perspectives": {"financial": 6.25, "customer": 5.0},
            "kpis": {
                "revenue": {
                    "value": 300.0,
                    "goal": None,
                    "red_flag": None,
                    "period_goal": None,
                    "period_red_flag": None,
                    "elapsed": None,
                    "forecast": None,
                    "score": 6.25,
                    "status": "amber",
                    "window": DAY,
                },
                "nps": {
                    "value": 25.0,
                    "goal": 50.0,
                    "red_flag": 0.0,
                    "period_goal": 50.0,
                    "period_red_flag": 0.0,
                    "elapsed": None,
                    "forecast": None,
                    "score": 5.0,
                    "status": "amber",
                    "window": MONTH,
                },
            },
        },
        "north": {
            "score": 10.0,
            "status": "green",
            "perspectives": {"financial": 10.0, "customer": 10.0},
            "kpis": {
                "revenue": {
                    "value": 150.0,
                    "goal": 100.0,
                    "red_flag": 50.0,
                    "period_goal": 100.0,
                    "period_red_flag": 50.0,
                    "elapsed": None,
                    "forecast": None,
                    "score": 10.0,
                    "status": "green",
                    "window": DAY,
                },
                "nps": {
                    "value": 100.0,
                    "goal": 50.0,
                    "red_flag": 0.0,
                    "period_goal": 50.0,
                    "period_red_flag": 0.0,
                    "elapsed": None,
                    "forecast": None,
                    "score": 10.0,
                    "status": "green",
                    "window": MONTH,
                },
            },
        },
        "south": {
            "score": 3.3333333333333335,
            "status": "amber",
            "perspectives": {"financial": 5.0, "customer": 0.0},
            "kpis": {
                "revenue": {
                    "value": 150.0,
                    "goal": 200.0,
                    "red_flag": 100.0,
                    "period_goal": 200.0,
                    "period_red_flag": 100.0,
                    "elapsed": None,
                    "forecast": None,
                    "score": 5.0,
                    "status": "amber",
                    "window": DAY,
                },
                "nps": {
                    "value": -50.0,
                    "goal": 50.0,
                    "red_flag": 0.0,
                    "period_goal": 50.0,
                    "period_red_flag": 0.0,
                    "elapsed": None,
                    "forecast": None,
                    "score": 0.0,
                    "status": "red",
                    "window": MONTH,
                },
            },
        },
    },
}


def test_json_report_of_the_hand_checked_case() -> None:
    code, out, err = run("replay", SHOP, SHOP_EVENTS, "--format", "json")
    assert code == 0, err
    assert out.encode() == orjson.dumps(EXPECTED, option=orjson.OPT_INDENT_2) + b"\n"


def test_invalid_events_are_listed_on_stderr_with_line_and_reason() -> None:
    code, _, err = run("replay", SHOP, SHOP_EVENTS, "--format", "json")
    assert code == 0
    assert err.splitlines() == [
        "3 invalid events:",
        "  line 10: nps_out_of_range: fields.score: 12 is outside the 0-10 NPS scale; send 0..10",
        "  line 12: not_json: not valid JSON (JSON is malformed: invalid character (byte 0)); send one JSON object"
        " per event",
        "  line 13: unknown_unit: unit: 'west' is not a unit of the scorecard; check the spelling",
    ]


def test_errors_file_has_every_invalid_event_as_json_lines(tmp_path: Path) -> None:
    errors = tmp_path / "errors.jsonl"
    code, _, _ = run("replay", SHOP, SHOP_EVENTS, "--errors", str(errors))
    assert code == 0
    rows = [orjson.loads(line) for line in errors.read_bytes().splitlines()]
    assert [(r["line"], r["id"], r["reason"]) for r in rows] == [
        (10, "s5", "nps_out_of_range"),
        (12, None, "not_json"),
        (13, "x1", "unknown_unit"),
    ]
    assert list(rows[0]) == ["line", "id", "reason", "detail"]
    assert rows[0]["detail"] == "fields.score: 12 is outside the 0-10 NPS scale; send 0..10"


def test_long_invalid_lists_are_cut_on_stderr_but_complete_in_the_errors_file(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(Path(SHOP_EVENTS).read_bytes() + b"[]\n" * 12)
    errors = tmp_path / "errors.jsonl"
    code, _, err = run("replay", SHOP, str(events), "--errors", str(errors))
    assert code == 0
    assert err.splitlines()[0] == "15 invalid events:"
    assert err.splitlines()[-1] == f"  ... and 5 more (all in {errors})"
    assert len(errors.read_bytes().splitlines()) == 15
    code, _, err = run("replay", SHOP, str(events))
    assert err.splitlines()[-1] == "  ... and 5 more (use --errors FILE to get them all)"


def test_table_shows_the_tree_scores_perspectives_and_counts() -> None:
    code, out, _ = run("replay", SHOP, SHOP_EVENTS)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Shop at 2026-11-27T10:06:00Z"
    assert "Unit" in lines[1] and "Financial" not in lines[1]  # perspectives without a name show their id
    assert lines[1].split() == ["Unit", "Score", "Status", "financial", "customer"]
    rows = [line.split() for line in lines[3:6]]
    assert rows[0] == ["The", "Shop", "shop", "5.8", "amber", "6.2", "5.0"]
    assert rows[1] == ["North", "store", "north", "10.0", "green", "10.0", "10.0"]
    assert rows[2] == ["South", "store", "south", "3.3", "amber", "5.0", "0.0"]
    assert lines[4].startswith("  North store")  # children indented under their parent
    assert lines[-1] == "events: 7 accepted, 1 duplicate, 1 late, 3 invalid, 1 ignored"
    assert "\x1b[" not in out  # no colour codes when piped


@pytest.mark.parametrize("at", ["2026-11-28T12:00:00Z", "1795867200", "2026-11-28T13:00:00+01:00"])
def test_at_sets_the_evaluation_time(at: str) -> None:
    code, out, err = run("replay", SHOP, SHOP_EVENTS, "--format", "json", "--at", at)
    assert code == 0, err
    document = orjson.loads(out)
    assert document["at"] == "2026-11-28T12:00:00Z"
    north = document["units"]["north"]["kpis"]
    assert north["revenue"]["value"] == 0.0  # a new day: the day's window is empty
    assert north["revenue"]["window"] == {"start": "2026-11-28T00:00:00Z", "end": "2026-11-29T00:00:00Z"}
    assert north["nps"]["value"] == 100.0  # still November
    assert document["events"] == EXPECTED["events"]


def test_bad_at_is_a_usage_error() -> None:
    code, _, err = run("replay", SHOP, SHOP_EVENTS, "--at", "tomorrow")
    assert code == 2
    assert "--at" in err


def test_events_from_stdin() -> None:
    code, out, _ = run("replay", SHOP, "-", "--format", "json", stdin=Path(SHOP_EVENTS).read_bytes())
    assert code == 0
    assert orjson.loads(out) == EXPECTED


def test_no_accepted_event_and_no_at_exits_1(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"id": "p1", "type": "page_viewed", "unit": "north", "time": 0}\n')
    code, out, err = run("replay", SHOP, str(events))
    assert code == 1
    assert out == ""
    assert "--at" in err
    code, out, _ = run("replay", SHOP, str(events), "--at", "2026-11-27T00:00:00Z", "--format", "json")
    assert code == 0
    assert orjson.loads(out)["events"]["ignored"] == 1


def test_invalid_definition_exits_1(tmp_path: Path) -> None:
    definition = tmp_path / "bad.yaml"
    definition.write_text("name: Bad\norg: {id: x}\nkpis: []\n")
    code, out, err = run("replay", str(definition), SHOP_EVENTS)
    assert code == 1
    assert out == ""
    assert "not a valid scorecard" in err


def test_validate_is_still_there() -> None:
    code, out, _ = run("validate", SHOP)
    assert code == 0
    assert out.startswith("Shop  (")


# ------------------------------------------------------------------------------------------------ the example


def test_acme_example_replays_with_every_unit_and_kpi_and_mixed_statuses() -> None:
    definition = REPO / "examples" / "acme.yaml"
    events = REPO / "examples" / "acme-events.jsonl"
    code, out, err = run("replay", str(definition), str(events), "--format", "json")
    assert code == 0, err
    document = orjson.loads(out)
    units = document["units"]
    assert len(units) == 12
    kpi_ids = {
        "revenue",
        "online-basket",
        "refund-rate",
        "nps",
        "csat",
        "on-time-delivery",
        "max-delivery-delay",
        "resolution-time",
        "urgent-tickets",
        "defect-rate",
        "line-availability-floor",
        "training-hours",
        "ideas-submitted",
        "regretted-leavers",
        "time-to-hire",
    }
    assert all(set(unit["kpis"]) == kpi_ids for unit in units.values())
    statuses = {unit["status"] for unit in units.values()}
    assert {"green", "red"} <= statuses
    events_count = document["events"]
    assert events_count["accepted"] > 2000
    assert all(events_count[name] > 0 for name in ("duplicate", "late", "invalid", "ignored"))
    # every KPI has a value at some unit: the generator feeds every source
    assert all(any(unit["kpis"][k]["value"] not in (None, 0.0) for unit in units.values()) for k in kpi_ids)
