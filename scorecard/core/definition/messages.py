"""Pydantic's validation errors in the words of the YAML file: a field path and what is expected there.

Pydantic reports a path with the union tag inside (``window.rolling.size``) and messages about Python types; the
author wrote ``window: {kind: rolling, size: ...}`` in YAML. ``translate`` strips the tags, names the allowed keys
and tag values (found by walking the model classes along the path), and words each error kind for a person.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel

from scorecard.core.definition.model import ID_PATTERN, Scorecard
from scorecard.core.definition.problems import Loc, did_you_mean, show

__all__ = ["translate"]


def translate(error: Mapping[str, Any], prefix: Loc, root: Any) -> tuple[Loc, str]:
    """Turn one pydantic error into (path, message) in the words of the YAML file."""
    raw_loc: Loc = (*prefix, *error["loc"])
    loc = _strip_union_tags(raw_loc, root)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = str(ctx.get("discriminator", "kind")).strip("'")
        expected = ", ".join(_choices(_annotation_at(raw_loc), tag))
        if kind == "union_tag_not_found":
            return (*loc, tag), f"required key missing; expected one of: {expected}"
        return (*loc, tag), f"expected one of: {expected}; got {ctx.get('tag')!r}"
    if kind == "extra_forbidden":
        key = str(raw_loc[-1])
        model = _model_at(raw_loc[:-1])
        allowed = [field.alias or name for name, field in model.model_fields.items()] if model is not None else []
        tail = f"{did_you_mean(key, allowed)}; allowed keys: {', '.join(allowed)}" if allowed else ""
        return loc, f"unknown key {key!r}{tail}"
    return loc, _describe(kind, ctx, value, str(error.get("msg", "")))


def _describe(kind: str, ctx: Mapping[str, Any], value: Any, msg: str) -> str:
    got = f", got {show(value)}"
    if kind == "missing":
        return "required key missing"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN:
        return f"expected a lowercase id of a-z, 0-9, '_' and '-' (matching {ID_PATTERN}){got}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    fixed = {
        "string_type": "expected text",
        "string_too_short": "expected non-empty text",
        "float_type": "expected a number",
        "int_type": "expected a whole number",
        "int_from_float": "expected a whole number",
        "finite_number": "expected a finite number",
        "bool_type": "expected true or false",
        "model_type": "expected a mapping",
        "model_attributes_type": "expected a mapping",
        "dict_type": "expected a mapping",
        "tuple_type": "expected a list",
        "list_type": "expected a list",
        "too_short": "expected a non-empty list",
    }
    if kind == "recursion_loop":
        return "expected a tree, got a YAML alias that contains itself"
    if kind in fixed:
        return fixed[kind] + got
    if kind in ("greater_than", "greater_than_equal"):
        sign = ">" if kind == "greater_than" else ">="
        bound = ctx.get("gt", ctx.get("ge"))
        return f"expected a number {sign} {bound:g}{got}" if isinstance(bound, int | float) else msg + got
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}{got}"
    return (msg[:1].lower() + msg[1:]) + got


def _strip_union_tags(loc: Loc, root: Any) -> Loc:
    """Pydantic puts the discriminator value in the path (``window.rolling.size``); the file has no such key."""
    out: list[str | int] = []
    node = root
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the value at ``loc`` (pydantic-style, union tags included)."""
    found = _annotation_at(loc)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def _annotation_at(loc: Loc) -> Any:
    current: Any = Scorecard
    for part in loc:
        current = _step(_unwrap(current), part)
        if current is None:
            return None
    return _unwrap(current)


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional; a union of several models becomes a _UnionOf to pick from by tag."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
            return _UnionOf([m for m in members if isinstance(m, type) and issubclass(m, BaseModel)])
        else:
            return annotation


@dataclass(frozen=True)
class _UnionOf:
    models: list[type[BaseModel]]


def _step(annotation: Any, part: str | int) -> Any:
    if isinstance(annotation, _UnionOf):
        return next((m for m in annotation.models if part in _choices(m, "kind")), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (tuple, list) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _choices(model: Any, tag: str) -> list[str]:
    """The literal values a tag field accepts, across a model or a union of models."""
    models = model.models if isinstance(model, _UnionOf) else [model] if model is not None else []
    if not models:
        return []
    values: list[str] = []
    for member in models:
        field = member.model_fields.get(tag)
        if field is not None:
            values += [str(v) for v in typing.get_args(field.annotation)]
    return values
