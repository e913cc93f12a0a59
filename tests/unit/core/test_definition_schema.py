"""The definition's JSON Schema and field reference: valid JSON Schema, true to the loader on real and broken files,
every field described, and docs/definition.md up to date."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from scorecard.core.definition import DefinitionError, Scorecard, parse_scorecard
from scorecard.core.definition.schema import REFERENCE_COMMAND, definition_reference, definition_schema
from scorecard.core.definition.starter import starter_definition
from tests.paths import ACME, REPO


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = definition_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(validator: Draft202012Validator, data: Any) -> list[str]:
    return [error.message for error in validator.iter_errors(data)]


def test_the_example_and_the_starter_match_the_schema(validator: Draft202012Validator) -> None:
    assert _errors(validator, yaml.safe_load(ACME.read_text())) == []
    starter = starter_definition("Ünïcode [bold] name", "scorecard.schema.json")
    assert _errors(validator, yaml.safe_load(starter)) == []
    parse_scorecard(starter)  # and the loader agrees


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("lateness",), "1h"),
        (("lateness",), 3600),
        (("dedupe",), "2w"),
        (("kpis", 0, "window"), {"kind": "rolling", "size": "7d", "step": "1d"}),
        (("kpis", 0, "source", "where"), {"channel": "online", "vip": True, "tier": 2}),
    ],
)
def test_values_the_loader_accepts_are_accepted(validator: Draft202012Validator, path: tuple, value: Any) -> None:
    data = yaml.safe_load(starter_definition("x", "s.json"))
    _set(data, path, value)
    assert _errors(validator, data) == []
    parse_scorecard(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("colour",), "blue"),  # unknown key
        (("kpis", 0, "id"), "Revenue EUR"),  # not an id
        (("kpis", 0, "aggregation"), "median"),
        (("kpis", 0, "weight"), 0),
        (("kpis", 0, "window"), {"kind": "sliding", "size": "1d"}),
        (("limits", "event_depth"), 1),
        (("kpis", 0, "source", "where"), {"channel": ["a", "b"]}),
        (("org", "children", 0, "weight"), "heavy"),
        (("name",), ""),
    ],
)
def test_values_the_loader_refuses_are_refused(validator: Draft202012Validator, path: tuple, value: Any) -> None:
    data = yaml.safe_load(starter_definition("x", "s.json"))
    _set(data, path, value)
    assert _errors(validator, data)
    with pytest.raises(DefinitionError):
        parse_scorecard(yaml.safe_dump(data))


def test_every_field_of_the_model_has_a_description() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in _models(Scorecard)
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert missing == [], "add a docstring under each of these fields in scorecard/core/definition/model.py"


def test_the_reference_documents_every_field() -> None:
    reference = definition_reference()
    for model in _models(Scorecard):
        for name, field in model.model_fields.items():
            written = field.alias or name  # what a definition writes: `for`, not the attribute `pending`
            assert f"| `{written}` |" in reference, f"{model.__name__}.{name}"
    assert "| `lateness` | duration | `1h` |" in reference


def test_docs_definition_md_is_up_to_date() -> None:
    path = REPO / "docs" / "definition.md"
    assert path.exists() and path.read_text(encoding="utf-8") == definition_reference(), (
        f"docs/definition.md is stale: regenerate it with `{REFERENCE_COMMAND}`"
    )


def _set(data: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {}) if isinstance(data, dict) else data[key]
    data[path[-1]] = value


def _models(root: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """Every pydantic model reachable from ``root`` through its fields' annotations."""
    seen: set[type[BaseModel]] = set()
    stack = [root]
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        yield model
        for field in model.model_fields.values():
            stack += [t for t in _types(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)]


def _types(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        yield from _types(arg)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None:
        yield from _types(origin)
