"""The definition's JSON Schema and its Markdown field reference, both generated from the pydantic model.

``definition_schema()`` is what ``scorecard schema`` prints: editors that speak the YAML language server (VS Code's
YAML extension, IntelliJ, Neovim...) complete and check a definition that starts with
``# yaml-language-server: $schema=<path or URL of the schema>``. The schema checks the shape of each field (types,
patterns, ranges, unknown keys); the cross-references (an objective's perspective exists, a ratio KPI has both
terms...) are ``scorecard validate``'s, so a file the schema accepts may still have problems, never the reverse.

``definition_reference()`` renders the same schema as Markdown (``docs/definition.md``): one section per object,
one row per field with its type, default and description (the fields' docstrings in ``model``). Sections follow the
file from the top level down, so a field added to the model appears in both without further work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from scorecard.core.definition.model import DURATION_JSON_SCHEMA, ID_PATTERN, Scorecard
from scorecard.core.timeutil import format_duration

__all__ = ["REFERENCE_COMMAND", "SCHEMA_DIALECT", "definition_reference", "definition_schema"]

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
REFERENCE_COMMAND: Final = "scorecard schema --format markdown -o docs/definition.md"
"""The command that writes docs/definition.md (named in the file and by the test that finds it stale)."""

_TITLE: Final = "Scorecard definition"
_DESCRIPTION: Final = (
    "A balanced scorecard: perspectives, the org tree, objectives and KPIs computed from events. "
    "`scorecard validate FILE` checks what the schema cannot (references between sections, windows, targets)."
)
_REF: Final = re.compile(r"^#/\$defs/(.+)$")
_LONG_DEFAULT: Final = 40


def definition_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a definition file, as the YAML language server and validators read it."""
    schema = Scorecard.model_json_schema(mode="validation")
    return {"$schema": SCHEMA_DIALECT, **schema, "title": _TITLE, "description": _DESCRIPTION}


def definition_reference() -> str:
    """docs/definition.md: the field reference of the definition, generated from ``definition_schema()``."""
    schema = definition_schema()
    defs: Mapping[str, Any] = schema.get("$defs", {})
    lines = [
        "# The scorecard definition: field reference",
        "",
        f"<!-- Generated from the model by `{REFERENCE_COMMAND}`; do not edit by hand. -->",
        "",
        "A definition is one YAML file (`examples/acme.yaml` is a complete one). `scorecard init FILE` writes a small",
        "valid one to start from, `scorecard schema` prints its JSON Schema for editor completion, `scorecard validate",
        "FILE` checks it and `scorecard events FILE` lists the events it expects.",
        "",
        "Durations are text like `30s`, `15m`, `1h`, `7d`, `2w` or whole seconds. Ids are lowercase letters, digits,",
        "`_` and `-`, and may not start with `__`. Unknown keys are errors.",
        "",
    ]
    for name, path, model in _sections(schema, defs):
        lines += _section(name, path, model)
    return "\n".join(lines).rstrip("\n") + "\n"


def _sections(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(heading, where it is used, object schema): the top level, then breadth-first by first use, the objects of
    required and list fields before the optional settings objects."""
    yield "Top level", "the file", schema
    required = set(schema.get("required", ()))
    main: list[tuple[str, str]] = []
    settings: list[tuple[str, str]] = []  # after the sections of the scorecard itself
    for name, path in _refs_of(schema, ""):
        field = path.split(".")[0].removesuffix("[]")
        (main if field in required or path.endswith("[]") else settings).append((name, path))
    seen: set[str] = set()
    for queue in (main, settings):
        while queue:
            name, path = queue.pop(0)
            if name in seen or name not in defs:
                continue
            seen.add(name)
            yield name, path, defs[name]
            queue += _refs_of(defs[name], path)


def _refs_of(model: Mapping[str, Any], parent: str) -> Iterator[tuple[str, str]]:
    for field, prop in model.get("properties", {}).items():
        path = f"{parent}.{field}" if parent else field
        yield from _refs_in(prop, path)


def _refs_in(schema: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(schema, Mapping):
        ref = schema.get("$ref")
        if isinstance(ref, str) and (match := _REF.match(ref)):
            yield match.group(1), path
        for key, value in schema.items():
            if key == "items":
                yield from _refs_in(value, f"{path}[]")
            elif key == "additionalProperties":
                yield from _refs_in(value, f"{path}.<key>")
            elif key in ("anyOf", "oneOf", "allOf"):
                for part in value:
                    yield from _refs_in(part, path)


def _section(name: str, path: str, model: Mapping[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if name != "Top level":
        lines += [f"Used in `{path}`.", ""]
    description = _one_line(model.get("description", ""))
    if description:
        lines += [description, ""]
    required = set(model.get("required", ()))
    lines += ["| Field | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for field, prop in model.get("properties", {}).items():
        default = "required" if field in required else _default(prop)
        row = [f"`{field}`", _type(prop), default, _one_line(prop.get("description", ""))]
        lines.append("| " + " | ".join(_cell(text) for text in row) + " |")
    return [*lines, ""]


def _type(schema: Mapping[str, Any]) -> str:
    """A field's type in words: links to the objects, ranges and patterns spelled out, ``null`` when optional."""
    if schema.get("format") == DURATION_JSON_SCHEMA["format"]:
        return "duration"
    ref = schema.get("$ref")
    if isinstance(ref, str) and (match := _REF.match(ref)):
        name = match.group(1)
        return f"[{name}](#{name.lower()})"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [_type(part) for part in schema[key]]
            return " or ".join(dict.fromkeys(parts))
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object":
        values = schema.get("additionalProperties")
        return f"map of names to {_type(values)}" if isinstance(values, Mapping) else "map"
    if kind == "string":
        if schema.get("pattern") == ID_PATTERN:
            return "id"
        return "text" if schema.get("minLength") else "string"
    if kind in ("number", "integer"):
        return kind + _range(schema)
    return str(kind)


def _range(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if "exclusiveMinimum" in schema:
        return f" > {schema['exclusiveMinimum']}"
    if low is not None and high is not None:
        return f" {low}..{high}"
    if low is not None:
        return f" >= {low}"
    return ""


def _default(prop: Mapping[str, Any]) -> str:
    if "default" not in prop:
        return "empty"  # not required and no default: a collection with an empty default (``default_factory``)
    value = prop["default"]
    if prop.get("format") == DURATION_JSON_SCHEMA["format"] and isinstance(value, int):
        return f"`{format_duration(value)}`" if value else "`0`"
    text = json.dumps(value, ensure_ascii=False)
    if value in ({}, []) or len(text) > _LONG_DEFAULT:
        return "see description" if len(text) > _LONG_DEFAULT else "empty"
    return f"`{text}`"


def _one_line(text: str) -> str:
    return " ".join(text.replace("``", "`").split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
