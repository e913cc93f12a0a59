"""The CLI at the limits: evaluation times outside the event time range and hostile definitions are one-line errors,
never a traceback."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from scorecard.cli import main
from scorecard.core.timeutil import EVENT_TIME_END, EVENT_TIME_MIN
from tests.paths import REPLAY_FIXTURES as FIXTURES

SHOP = str(FIXTURES / "shop.yaml")
SHOP_EVENTS = str(FIXTURES / "shop-events.jsonl")
NO_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there: the option must be refused before any connection


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


OUT_OF_RANGE = [
    "9999-12-31T23:59:59Z",
    "9998-01-01T00:00:00Z",
    "0999-12-31T23:59:59Z",
    "1e18",
    "-1e18",
    str(EVENT_TIME_END),
    str(EVENT_TIME_MIN - 1),
]


@pytest.mark.parametrize("at", OUT_OF_RANGE)
@pytest.mark.parametrize(
    "command",
    [
        ["replay", SHOP, SHOP_EVENTS],
        ["status", "--scorecard", SHOP, "--redis-url", NO_REDIS],
        ["report", "--scorecard", SHOP, "--events", SHOP_EVENTS],
        ["report", "--scorecard", SHOP, "--redis-url", NO_REDIS],
    ],
    ids=["replay", "status", "report-replay", "report-redis"],
)
def test_an_evaluation_time_outside_the_event_range_is_a_usage_error(command: list[str], at: str) -> None:
    result = invoke(*command, "--at", at)
    assert result.exit_code == 2
    [error] = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert error.startswith("Error: Invalid value for --at: expected a time in years 1000-9997 UTC")
    assert f"got '{at}'" in error


def test_milliseconds_get_a_hint() -> None:
    result = invoke("replay", SHOP, SHOP_EVENTS, "--at", "1795774560000")
    assert result.exit_code == 2 and "milliseconds? divide by 1000" in result.stderr


def test_the_simulator_start_has_the_same_range(tmp_path: Path) -> None:
    result = invoke("simulate", "--scorecard", SHOP, "--start", "1e18", "--out", str(tmp_path / "events.jsonl"))
    assert result.exit_code == 2 and "Invalid value for --start: expected a time in years 1000-9997" in result.stderr


@pytest.mark.parametrize("at", ["1000-01-01T00:00:00Z", "9997-12-31T23:59:59Z", str(EVENT_TIME_END - 1)])
def test_the_ends_of_the_range_evaluate(at: str) -> None:
    table = invoke("replay", SHOP, SHOP_EVENTS, "--at", at)
    assert table.exit_code == 0, table.output
    document = orjson.loads(invoke("replay", SHOP, SHOP_EVENTS, "--at", at, "--format", "json").stdout)
    assert document["at"][:4] in ("1000", "9997")


def test_a_yaml_bomb_and_a_deep_org_are_one_line_each(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(
        "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + "".join(f"{c}: &{c} [{f'*{p},' * 9}*{p}]\n" for p, c in zip("abcdef", "bcdefg", strict=True))
    )
    result = invoke("validate", str(bomb))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith(f"{bomb}:")
    assert "values once its YAML aliases are expanded" in result.stderr
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: Deep\norg: " + "{id: u, children: [" * 250 + "{id: leaf}" + "]}" * 250 + "\n")
    result = invoke("replay", str(deep), SHOP_EVENTS)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith(f"{deep}:2: ")
    assert "nested more than 100 levels deep" in result.stderr
