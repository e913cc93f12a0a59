"""`scorecard schema`, `init` and `events`: what they print and write, and the files they write are valid."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from scorecard.cli import main
from scorecard.core.definition import load_scorecard
from scorecard.core.definition.schema import definition_reference, definition_schema
from scorecard.core.event_contract import EXAMPLE_TIME
from scorecard.core.replay import replay
from scorecard.core.timeutil import parse_time
from tests.paths import ACME


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_schema_prints_the_json_schema_and_the_markdown_reference(tmp_path: Path) -> None:
    code, out, err = run("schema")
    assert (code, err) == (0, "")
    assert json.loads(out) == definition_schema()
    code, out, _ = run("schema", "--format", "markdown", "-o", str(tmp_path / "ref" / "definition.md"))
    assert code == 0 and "wrote" in out
    assert (tmp_path / "ref" / "definition.md").read_text(encoding="utf-8") == definition_reference()


def test_schema_check_compares_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "definition.md"
    code, _, err = run("schema", "--format", "markdown", "-o", str(path), "--check")
    assert code == 1 and not path.exists()
    assert err == f"{path} is missing or stale; run `scorecard schema --format markdown -o {path}`\n"
    path.write_text(definition_reference() + "edited by hand\n", encoding="utf-8")
    assert run("schema", "--format", "markdown", "-o", str(path), "--check")[0] == 1
    assert run("schema", "--format", "markdown", "-o", str(path))[0] == 0
    code, out, _ = run("schema", "--format", "markdown", "-o", str(path), "--check")
    assert code == 0 and out == f"{path} is up to date\n"
    code, _, err = run("schema", "--check")
    assert code == 2 and "-o FILE" in err


def test_init_writes_a_valid_scorecard_naming_its_schema_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "team" / "scorecard.yaml"
    name = 'Ops, "north" [bold]<b>\u202e'
    code, out, err = run("init", str(path), "--name", name)
    assert (code, err) == (0, "")
    assert str(path) in out and "scorecard validate" in out
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=scorecard.schema.json"
    scorecard = load_scorecard(path)
    assert scorecard.name == name
    schema = json.loads((path.parent / "scorecard.schema.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(yaml.safe_load(text))) == []
    assert run("validate", "--strict", str(path))[0] == 0

    code, out, err = run("init", str(path), "--name", "Other")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "already exists" in err
    assert path.read_text(encoding="utf-8") == text


def test_init_with_a_schema_url_writes_no_schema_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    url = "https://example.com/scorecard.schema.json"
    assert run("init", str(path), "--schema", url)[0] == 0
    assert path.read_text(encoding="utf-8").startswith(f"# yaml-language-server: $schema={url}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
    code, _, err = run("init", str(tmp_path / "t.yaml"), "--schema", "a b\n")
    assert code == 2 and "--schema" in err


def test_events_text_lists_types_fields_and_example_lines_the_replay_accepts() -> None:
    code, out, err = run("events", str(ACME))
    assert (code, err) == (0, "")
    assert "order_completed  (KPIs: revenue, online-basket, refund-rate)" in out
    assert "fields.amount  number, required; read by revenue (summed, EUR)" in out
    assert 'fields.channel  filter: "online" selects events for online-basket' in out
    examples = [line.split("example  ", 1)[1] for line in out.splitlines() if line.startswith("  example  ")]
    assert len(examples) >= 14
    result = replay(load_scorecard(ACME), [e.encode() for e in examples], received_at=parse_time(EXAMPLE_TIME))
    assert result.counts.get("accepted") == len(examples) and not result.counts.get("invalid")


def test_events_json_schema_is_a_json_schema(tmp_path: Path) -> None:
    code, out, _ = run("events", str(ACME), "--format", "json-schema")
    assert code == 0
    schema = json.loads(out)
    Draft202012Validator.check_schema(schema)
    assert "order_completed" in schema["properties"]["type"]["enum"]


def test_events_output_keeps_control_characters_off_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        'name: "evil\\u001b[2J"\norg: {id: root}\nkpis:\n  - id: k\n    aggregation: count\n'
        '    source: {event: "ord\\u001b[31mer\\u202e", where: {"a,b": "x\\ny"}}\n'
        "    window: {kind: tumbling, size: 1h}\n",
        encoding="utf-8",
    )
    code, out, err = run("events", str(path))
    assert (code, err) == (0, "")
    assert "\x1b" not in out and "\u202e" not in out
    assert "ord\\x1b[31mer\\u202e" in out


def test_events_on_an_invalid_definition_is_a_short_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\n", encoding="utf-8")
    code, out, err = run("events", str(path))
    assert code == 1 and out == ""
    assert "Traceback" not in err and "scorecard validate" in err
