"""Names with rich markup and control characters, printed by every view: shown as written, never acted upon.

A perspective named ``[/]`` used to pass `validate` and then crash `replay`, `status` and `board` with rich's
``MarkupError``; names holding terminal escapes were written raw to the terminal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.core.definition import Scorecard, parse_scorecard
from scorecard.core.replay import replay
from scorecard.outputs.board import Snapshot, frame_text
from scorecard.outputs.table import render_text
from scorecard.outputs.terminal import markup, plain, printable

# What may never reach a terminal from a name: C0 controls other than the newlines rich writes itself, DEL, C1,
# and the bidirectional overrides.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_printable_writes_control_characters_as_their_escapes() -> None:
    assert printable("\x1b[2J") == "\\x1b[2J"
    assert printable("a\rb\x00c\x7f\x85") == "a\\rb\\x00c\\x7f\\x85"
    assert printable("rtl\u202eevil\u2028") == "rtl\\u202eevil\\u2028"
    assert printable("one\ntwo\tthree") == "one\\ntwo\\tthree"
    assert printable("one\ntwo\r", keep_newlines=True) == "one\ntwo\\r"
    assert printable("Café € 😀 a\u200db") == "Café € 😀 a\u200db"  # letters, symbols and joiners stay


def test_markup_escapes_rich_tags_and_plain_is_never_parsed() -> None:
    assert markup("[/]") == "\\[/]" and markup("[bold]x\x1b") == "\\[bold]x\\x1b"
    assert plain("[/]\x00").plain == "[/]\\x00"


def hostile_scorecard() -> Scorecard:
    """Every kind of name the views print, each holding markup or control characters."""
    data: dict[str, Any] = {
        "name": "Board [bold] \x1b[2J\r",
        "perspectives": [{"id": "money", "name": "[/]"}, {"id": "people", "name": "p\x00\x07\u202e"}],
        "org": {"id": "root", "name": "[red]Root\x1b[31m", "children": [{"id": "leaf", "name": "leaf\rX"}]},
        "objectives": [{"id": "earn", "perspective": "money"}, {"id": "care", "perspective": "people"}],
        "kpis": [
            {
                "id": "sales",
                "name": "[/]sales\x1b]0;pwned\x07",
                "unit": "[bold]EUR\x1b[5m",
                "objective": "earn",
                "aggregation": "sum",
                "source": {"event": "sale", "field": "amount"},
                "window": {"kind": "tumbling", "size": "1d"},
                "goal": 100,
                "red_flag": 50,
            },
            {
                "id": "care",
                "name": "\x00care",
                "objective": "care",
                "aggregation": "count",
                "source": {"event": "hug"},
                "window": {"kind": "tumbling", "size": "1d"},
                "goal": 2,
                "red_flag": 1,
            },
        ],
    }
    return parse_scorecard(yaml.safe_dump(data))


EVENTS = [
    {"id": "1", "type": "sale", "unit": "leaf", "time": "2026-11-27T10:00:00Z", "fields": {"amount": 60}},
    {"id": "2", "type": "hug", "unit": "leaf", "time": "2026-11-27T10:01:00Z"},
]


def report() -> dict[str, Any]:
    return replay(hostile_scorecard(), [json.dumps(e) for e in EVENTS]).evaluate()


def assert_safe(text: str) -> None:
    found = RAW_CONTROL.findall(text)
    assert not found, found


@pytest.mark.parametrize("color", [False, True])
def test_the_scorecard_table_shows_hostile_names_as_written(color: bool) -> None:
    text = render_text(hostile_scorecard(), report(), color=color)
    for shown in ("[/]", "[red]Root\\x1b[31m", "leaf\\rX", "p\\x00\\x07\\u202e", "Board [bold] \\x1b[2J\\r"):
        assert shown in text
    if color:  # rich's own styles are escape sequences; a name's are not among them
        assert "\x1b[2J" not in text and "\x1b[31m" not in text and "\r" not in text and "\x00" not in text
    else:
        assert_safe(text)


def test_the_board_shows_hostile_names_as_written() -> None:
    scorecard = hostile_scorecard()
    current = Snapshot(report(), 0.01)
    text = frame_text(scorecard, None, current, 1.0, width=300)
    assert "[/]sales\\x1b]0;pwned\\x07" in text and "[bold]EUR\\x1b[5m" in text and "leaf\\rX" in text
    assert_safe(text)
    error = frame_text(scorecard, None, Snapshot({}, 0.0, error="cannot read [/] \x1b[2J"), 1.0)
    assert "cannot read [/] \\x1b[2J" in error
    assert_safe(error)


def test_validate_and_replay_print_hostile_names_safely(tmp_path: Path) -> None:
    definition = tmp_path / "hostile.yaml"
    definition.write_text(yaml.safe_dump(hostile_scorecard().model_dump(exclude_none=True)))
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(e) for e in EVENTS] + [json.dumps({**EVENTS[0], "id": "\x1b[2J", "unit": "[/]\r"})]
    events.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    validated = runner.invoke(main, ["validate", str(definition)])
    assert validated.exit_code == 0, validated.output
    assert "Board [bold] \\x1b[2J\\r  (" in validated.stdout and "    [/]  " in validated.stdout
    assert_safe(validated.stdout)
    replayed = runner.invoke(main, ["replay", str(definition), str(events)])
    assert replayed.exit_code == 0, replayed.output
    assert replayed.exception is None or isinstance(replayed.exception, SystemExit)
    assert "[/]" in replayed.stdout and "leaf\\rX" in replayed.stdout
    assert "1 invalid event" in replayed.stderr
    assert_safe(replayed.stdout)
    assert_safe(replayed.stderr)
