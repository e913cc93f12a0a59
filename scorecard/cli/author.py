"""``scorecard schema``, ``init`` and ``events``: the commands for writing a definition and for its producers.

- ``schema`` prints the definition's JSON Schema (``--format markdown``: the field reference, docs/definition.md);
- ``init FILE`` writes a small valid definition that names the schema in a ``yaml-language-server`` comment, and the
  schema file next to it, so an editor completes and checks it at once; it never overwrites a definition;
- ``events -s FILE`` (or ``events FILE``) is the event contract for the producers: every event type the KPIs read,
  its fields and their units, the filters, and example lines the pipeline accepts (``--format json-schema``: the
  same as a JSON Schema).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from scorecard.cli.console import echo, plural
from scorecard.cli.definition_option import definition_option, load_or_exit
from scorecard.cli.files import output_file_option
from scorecard.core.definition import Scorecard
from scorecard.core.definition.schema import definition_reference, definition_schema
from scorecard.core.definition.starter import starter_definition
from scorecard.core.event_contract import EXAMPLE_TIME, event_contract, events_json_schema
from scorecard.core.hierarchy import OrgTree
from scorecard.core.timeutil import format_duration

_DEFAULT_SCHEMA = "scorecard.schema.json"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SHOWN_UNITS = 6


@click.command("schema")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "markdown"]),
    default="json",
    show_default=True,
    help="json: the JSON Schema for editors and validators; markdown: the field reference (docs/definition.md).",
)
@output_file_option("Where to write it")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when the -o file is missing or stale.")
def schema_command(output_format: str, output_path: Path, check: bool) -> None:
    """Print the JSON Schema of a scorecard definition (or its Markdown field reference)."""
    text = _schema_text() if output_format == "json" else definition_reference()
    if check:
        _check(output_path, text, output_format)
        return
    _write(output_path, text, f"the definition's {'JSON Schema' if output_format == 'json' else 'field reference'}")


@click.command("init")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default="My scorecard", show_default=True, help="The scorecard's name.")
@click.option(
    "--schema",
    "schema_ref",
    default=_DEFAULT_SCHEMA,
    show_default=True,
    help="Path (relative to FILE's folder) or URL of the JSON Schema named in the file's yaml-language-server "
    "comment; a path is (re)written with the current schema.",
)
def init_command(file: Path, name: str, schema_ref: str) -> None:
    """Write a small valid scorecard definition to FILE (never over an existing file)."""
    if not name.strip():
        raise click.BadParameter("the name must not be blank", param_hint="--name")
    if not schema_ref or any(char.isspace() or not char.isprintable() for char in schema_ref):
        raise click.BadParameter("expected a path or URL without spaces or control characters", param_hint="--schema")
    if file.exists() or file.is_symlink():
        echo(f"{file} already exists; init never overwrites a definition: give another FILE or remove it", err=True)
        sys.exit(1)
    schema_path = None if _URL.match(schema_ref) else file.parent / schema_ref
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("x", encoding="utf-8") as handle:  # "x": still no overwrite if FILE appeared meanwhile
            handle.write(starter_definition(name, schema_ref))
        if schema_path is not None:
            schema_path.parent.mkdir(parents=True, exist_ok=True)
            schema_path.write_text(_schema_text(), encoding="utf-8")
    except OSError as error:
        echo(f"cannot write {error.filename or file}: {error.strerror or error}", err=True)
        sys.exit(1)
    schema_note = f" and its JSON Schema {schema_path}" if schema_path is not None else ""
    echo(f"wrote {file}{schema_note}; next: scorecard validate {file}")


@click.command("events")
@definition_option(positional=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json-schema"]),
    default="text",
    show_default=True,
    help="text: for people; json-schema: a JSON Schema of one event line, for producers' tests.",
)
def events_command(scorecard_path: Path, output_format: str) -> None:
    """Print the events the scorecard (-s FILE, or FILE) reads: each type, its fields and units, and example lines."""
    scorecard = load_or_exit(scorecard_path)
    if output_format == "json-schema":
        click.echo(json.dumps(events_json_schema(scorecard), indent=2))
        return
    echo(_contract_text(scorecard))


def _schema_text() -> str:
    return json.dumps(definition_schema(), indent=2) + "\n"


def _check(output_path: Path, text: str, output_format: str) -> None:
    """``--check``: is the file what ``schema`` would write now (a CI step for a committed schema or reference)?"""
    if str(output_path) == "-":
        raise click.UsageError("--check compares with a file: give it with -o FILE")
    try:
        current = output_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    if current != text:
        echo(
            f"{output_path} is missing or stale; run `scorecard schema --format {output_format} -o {output_path}`",
            err=True,
        )
        sys.exit(1)
    echo(f"{output_path} is up to date")


def _write(output_path: Path, text: str, what: str) -> None:
    if str(output_path) == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_text(text, encoding="utf-8")
    except OSError as error:
        echo(f"cannot write {output_path}: {error.strerror or error}", err=True)
        sys.exit(1)
    echo(f"wrote {output_path} ({what})")


def _contract_text(scorecard: Scorecard) -> str:
    """The contract for people: the rules of every event, then one block per event type."""
    tree = OrgTree.from_scorecard(scorecard)
    units = list(tree.units)
    shown = ", ".join(units[:_SHOWN_UNITS]) + (f", ... ({len(units)} units)" if len(units) > _SHOWN_UNITS else "")
    limits = scorecard.limits
    contract = event_contract(scorecard)
    lines = [
        f"Events for {scorecard.name}: one JSON object per Kafka message or JSON Lines line.",
        "  id      string or integer, unique per event (a resent id counts once within "
        f"{format_duration(scorecard.dedupe)})",
        f"  type    one of the {plural(len(contract), 'type')} below (other types are ignored)",
        f"  unit    a unit id: {shown}",
        f"  time    RFC 3339 with an offset (e.g. {EXAMPLE_TIME}) or epoch seconds; at most "
        f"{_duration(scorecard.max_ahead)} after it is sent, counted up to {_duration(scorecard.lateness)} late",
        "  fields  object with the fields of its type (other keys are ignored)",
        f"  size    at most {limits.event_bytes:,} bytes, JSON nested at most {limits.event_depth} levels",
    ]
    for event_type in contract:
        lines += ["", f"{event_type.type}  (KPIs: {', '.join(event_type.kpis)})"]
        for use in event_type.fields:
            kind = "number 0-10" if use.nps else "number"
            need = "required" if use.always else "required when a filter below matches"
            lines.append(f"  fields.{use.name}  {kind}, {need}; read by {', '.join(use.uses)}")
        for filter_use in event_type.filters:
            values = " or ".join(json.dumps(value) for value in filter_use.values)
            lines.append(
                f"  fields.{filter_use.name}  filter: {values} selects events for {', '.join(filter_use.kpis)}"
            )
        if not event_type.fields and not event_type.filters:
            lines.append("  no fields needed (counted)")
        lines += [f"  example  {line}" for line in event_type.example_lines()]
    return "\n".join(lines)


def _duration(seconds: int) -> str:
    return format_duration(seconds) if seconds else "0s"
