"""The event model and its structural validation.

One JSON object per event::

    {"id": "e-42", "type": "order_completed", "unit": "sales-emea",
     "time": "2026-11-27T10:15:00Z", "fields": {"amount": 120.5, "channel": "online"}}

This module checks what every event must have, whatever the scorecard: at most ``max_bytes`` long and nested at
most ``max_depth`` deep (the definition's ``limits``), a JSON object with a non-empty ``id``, ``type``, ``unit`` and
a ``time`` that is RFC 3339 with an offset or epoch seconds, and ``fields`` (optional) that is an object. Checks
that depend on the definition (is the unit known, does the KPI's field exist and is it a number, is an NPS answer
within 0-10, does it fit a state, is the time too far ahead) belong to the engine, but their reason codes and small
helpers live here too, so that every rejection reason — a Prometheus label and a dead-letter key — is spelled in one
place.

Choices:

* ``id`` may be a string or an integer; integers are turned into their decimal text (``42`` -> ``"42"``) because
  database-generated numeric ids are common and the conversion is lossless. Floats and booleans are refused.
  ``type`` and ``unit`` must be strings: they are names from the definition, a number there is a mistake.
* Keys other than the five above are ignored, so producers can add metadata without breaking consumers.
* Times must fall in years 1000-9997 (UTC). Outside that range a timezone shift or a "next year" boundary would
  leave datetime's range (years 1-9999) and ``format_time`` stops writing 4-digit years; the usual culprit is
  milliseconds sent as seconds, and the message says so.
* Decoding is a typed ``msgspec`` decode (types checked in C) plus a few emptiness checks, cheaper than a generic
  JSON decode followed by the same checks in Python (docs/benchmarks.md has the replay's per-event costs). When
  anything is wrong the event is decoded again, untyped with the same ``msgspec``
  parser, and ``event_from_mapping`` names the precise reason; one parser for both paths means numbers (e.g.
  integers above 64 bits, kept exact) are read identically whichever path an event takes.
* Size and depth are checked before any parsing that could recurse, so no line can make the decoder recurse or
  allocate without bound: the size is the line's length in bytes without trailing JSON whitespace (a replayed
  line's newline and a published one's missing newline measure the same); the depth counts the event object as
  level 1 and ``fields`` as level 2. The typed fast decoder accepts only the five keys with scalar field values, so
  what it decodes is two levels deep, within any cap, and what it refuses it refuses at the first unexpected ``[``,
  ``{`` or key, without recursing. Every other line is depth-checked before the untyped decoder sees it: first
  ``[`` and ``{`` are counted (a line cannot be deeper than its number of openers), and only a line with more
  openers than the cap is scanned exactly, in linear time without recursion: escapes and strings are removed with
  regular expressions that cannot backtrack, then the brackets left are summed. Any other failure of the decoder
  (a bug, or an input nobody foresaw) is ``undecodable`` rather than an exception: ``decode_event`` raises
  ``InvalidEvent`` and nothing else.
* Messages are bounded: a value shown in a detail is cut at ``SHOWN_VALUE`` characters (``show``), a whole detail at
  ``MAX_DETAIL`` characters and an event id at ``MAX_SHOWN_ID``, because details travel in Kafka headers, logs,
  terminals and the replay's error list, and a producer bug can put a megabyte in any string.
* ``Event`` is a ``msgspec.Struct`` rather than a dataclass: it is built once per event and a Struct is about
  twice as fast to create. It is declared ``gc=False`` (not tracked by the cycle collector, which matters at
  millions of events); an event holds only JSON data, which cannot refer back to the event.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Mapping
from enum import StrEnum
from itertools import accumulate
from typing import Any, Final

import msgspec

from scorecard.core.timeutil import EVENT_TIME_END, EVENT_TIME_MIN, TimeFormatError, format_time, parse_time


class Reason(StrEnum):
    """Stable short codes for rejected events: metric labels and dead-letter keys, so never rename one."""

    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_ID = "missing_id"
    MISSING_TYPE = "missing_type"
    MISSING_UNIT = "missing_unit"
    MISSING_TIME = "missing_time"
    BAD_TIME = "bad_time"
    BAD_FIELDS = "bad_fields"
    # Checked by the engine against the definition:
    UNKNOWN_UNIT = "unknown_unit"
    MISSING_FIELD = "missing_field"
    NOT_A_NUMBER = "not_a_number"
    NPS_OUT_OF_RANGE = "nps_out_of_range"
    # Appended later, so that the codes above keep their positions. Decoder limits:
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    UNDECODABLE = "undecodable"
    # Checked by the engine:
    TIME_IN_FUTURE = "time_in_future"
    OUT_OF_RANGE = "out_of_range"


REASONS: Final[tuple[str, ...]] = tuple(reason.value for reason in Reason)

_EXAMPLE_TIME: Final = "2026-11-27T10:15:00Z"
# The event-time range of scorecard.core.timeutil, as floats for the decoder's comparisons.
_MIN_EPOCH: Final = float(EVENT_TIME_MIN)
_MAX_EPOCH: Final = float(EVENT_TIME_END)

DEFAULT_MAX_BYTES: Final = 1_048_576
"""Default cap on one event's size in bytes (the definition's ``limits.event_bytes``)."""
DEFAULT_MAX_DEPTH: Final = 32
"""Default cap on one event's JSON nesting (``limits.event_depth``): the event object is level 1, ``fields`` level 2."""
MAX_DEPTH_CAP: Final = 256
"""The largest ``limits.event_depth`` allowed: the decoder recurses once per level, far below Python's limit."""

SHOWN_VALUE: Final = 100
"""Characters of an offending value shown in a detail (its ``repr``), the rest cut with a note of its length."""
MAX_DETAIL: Final = 1024
"""Characters of a whole detail."""
MAX_SHOWN_ID: Final = 256
"""Characters of an event id carried by ``InvalidEvent`` (dead-letter headers, the replay's error list)."""


class InvalidEvent(Exception):
    """An event that cannot be scored: ``reason`` is a ``Reason`` code, ``detail`` names the field and the fix."""

    def __init__(self, reason: Reason, detail: str, event_id: str | None = None) -> None:
        detail = clip(detail, MAX_DETAIL)
        event_id = clip(event_id, MAX_SHOWN_ID) if event_id is not None else None
        super().__init__(reason, detail, event_id)
        self.reason = reason
        self.detail = detail
        self.event_id = event_id

    def __str__(self) -> str:
        where = f" (event {self.event_id})" if self.event_id is not None else ""
        return f"{self.reason.value}: {self.detail}{where}"


class Event(msgspec.Struct, gc=False):
    """A validated event; ``time`` is epoch seconds, ``fields`` the free-form payload the KPIs read."""

    id: str
    type: str
    unit: str
    time: float
    fields: dict[str, Any] = {}  # msgspec gives every instance its own empty dict


class _WireEvent(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    """The JSON shape as the fast decoder sees it: types only, emptiness and time are checked afterwards.

    Only the five keys and scalar field values: a line this decodes is exactly two levels deep, so the fast path
    needs no depth check (and never recurses); anything else (nested values, extra keys) takes the slow path.
    """

    id: str | int
    type: str
    unit: str
    time: str | float
    fields: dict[str, str | int | float | bool | None] = {}


_FAST_DECODER: Final = msgspec.json.Decoder(_WireEvent)
_ANY_DECODER: Final = msgspec.json.Decoder()
_ENCODER: Final = msgspec.json.Encoder()


def decode_event(
    raw: bytes | bytearray | memoryview | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Event:
    """Parse and structurally validate one event from its JSON text; raises ``InvalidEvent`` and nothing else.

    The same as ``make_decoder(max_bytes, max_depth)(raw)``; code that decodes many events with the same caps (the
    engine) makes its decoder once.
    """
    if max_bytes == DEFAULT_MAX_BYTES and max_depth == DEFAULT_MAX_DEPTH:
        return _decode_default(raw)
    return make_decoder(max_bytes, max_depth)(raw)


def make_decoder(
    max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> Callable[[bytes | bytearray | memoryview | str], Event]:
    """The event decoder for these caps (the definition's ``limits``): a function of the raw text that returns the
    ``Event`` or raises ``InvalidEvent``, and nothing else.

    It runs once per Kafka message and per replayed line. Size comes first; the fast path then accepts only
    well-formed events of depth 2 (scalar fields, no other keys); any doubt goes to the depth check (see the module
    docstring) and then to the slow path, which accepts exactly what ``event_from_mapping`` accepts and explains the
    rest. The two paths give the same result for the same line; the fast one is only faster. The caps are bound in
    a closure because keyword arguments and attribute reads cost a measurable share of a decode.
    """

    def decode(raw: bytes | bytearray | memoryview | str) -> Event:
        try:
            if type(raw) is not bytes:
                raw = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
            if len(raw) > max_bytes and len(raw.rstrip(_JSON_SPACE)) > max_bytes:
                raise InvalidEvent(
                    Reason.TOO_LARGE,
                    f"the event is longer than {max_bytes:,} bytes (the definition's limits.event_bytes); send the "
                    "bulk elsewhere and a reference in the event",
                )
            try:
                wire = _FAST_DECODER.decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError):
                if raw.count(b"{") + raw.count(b"[") > max_depth and nesting_depth(raw) > max_depth:
                    raise InvalidEvent(
                        Reason.TOO_DEEP,
                        f"JSON nested deeper than {max_depth} levels (the definition's limits.event_depth; the event "
                        "object is level 1, fields level 2); flatten the fields",
                    ) from None
                return _decode_slowly(raw)
            event_id = wire.id
            if type(event_id) is not str:
                event_id = str(event_id)
            time = wire.time
            if not (event_id and wire.type and wire.unit and time != ""):
                return _decode_slowly(raw)
            try:
                epoch = parse_time(time)
            except (TimeFormatError, OverflowError):
                return _decode_slowly(raw)
            if not _MIN_EPOCH <= epoch < _MAX_EPOCH:
                return _decode_slowly(raw)
            return Event(event_id, wire.type, wire.unit, epoch, wire.fields)
        except InvalidEvent:
            raise
        except Exception as exc:  # the catch-all: a decoder failure nobody foresaw is an outcome, never a crash
            raise InvalidEvent(
                Reason.UNDECODABLE, f"the decoder failed ({type(exc).__name__}: {show(str(exc))}); please report it"
            ) from None

    return decode


_JSON_SPACE: Final = b" \t\r\n"
# Removing every escape pair first leaves only real string delimiters; then strings contain no quote at all. Both
# patterns match in one pass without backtracking (``[^"]*+`` is possessive), so the scan is linear in the line.
_ESCAPE: Final = re.compile(rb"\\.", re.DOTALL)
_STRING: Final = re.compile(rb'"[^"]*+"')
_NOT_BRACKET: Final = bytes(b for b in range(256) if b not in b"[]{}")
_STEP: Final = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def nesting_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (``{}`` is 1, ``{"a": [1]}`` is 2), without parsing.

    Exact for valid JSON. For invalid JSON it is some number, always the same for the same bytes, so such a line is
    always refused the same way (``too_deep`` or ``not_json``). Linear time, no recursion.
    """
    brackets = _STRING.sub(b"", _ESCAPE.sub(b"", raw)).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


_decode_default: Final = make_decoder()


def _decode_slowly(raw: bytes | bytearray | memoryview | str) -> Event:
    """Decode untyped and validate field by field, so the error names the first thing wrong."""
    try:
        obj = _ANY_DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidEvent(Reason.NOT_JSON, f"not valid JSON ({exc}); send one JSON object per event") from None
    return event_from_mapping(obj)


def event_from_mapping(obj: object) -> Event:
    """Validate an already decoded JSON value (e.g. a dict from YAML, a test, or another decoder) as an event."""
    if not isinstance(obj, Mapping):
        raise InvalidEvent(
            Reason.NOT_OBJECT,
            f'expected a JSON object like {{"id": ..., "type": ..., "unit": ..., "time": ...}}, got {_kind(obj)}',
        )
    event_id = _event_id(obj.get("id"))
    event_type = obj.get("type")
    if type(event_type) is not str or not event_type:
        raise InvalidEvent(Reason.MISSING_TYPE, _need_text("type", event_type, "order_completed"), event_id)
    unit = obj.get("unit")
    if type(unit) is not str or not unit:
        raise InvalidEvent(Reason.MISSING_UNIT, _need_text("unit", unit, "sales-emea"), event_id)
    time = _event_time(obj.get("time"), event_id)
    fields = obj.get("fields")
    if fields is None:
        if "fields" in obj:
            raise InvalidEvent(Reason.BAD_FIELDS, "fields: null is not an object; omit it or send {}", event_id)
        fields = {}
    elif type(fields) is not dict:
        if not isinstance(fields, Mapping):
            raise InvalidEvent(
                Reason.BAD_FIELDS,
                f'fields: expected an object like {{"amount": 120.5}}, got {_kind(fields)}',
                event_id,
            )
        fields = dict(fields)
    return Event(event_id, event_type, unit, time, fields)


def encode_event(event: Event) -> bytes:
    """Serialize an event back to its JSON form (dead letters, replay files); ``decode_event`` reverses it exactly.

    The time is written as RFC 3339 when that text reads back to the very same float, and as epoch seconds
    otherwise (sub-millisecond times), so a re-decoded event always falls in the same buckets.
    """
    time: str | float = event.time
    try:
        text = format_time(event.time)
        if parse_time(text) == event.time:
            time = text
    except (TimeFormatError, ValueError, OverflowError):  # e.g. years before 1000, which format_time does not pad
        pass
    return _ENCODER.encode(
        {"id": event.id, "type": event.type, "unit": event.unit, "time": time, "fields": event.fields}
    )


# ----------------------------------------------------------------------------------- checks made by the engine


def number_field(event: Event, name: str) -> float:
    """The KPI field ``name`` as a number; ``missing_field`` or ``not_a_number`` otherwise.

    Booleans and numeric strings are refused: ``true`` or ``"12.5"`` in an amount is a producer bug to report, not
    to guess around. JSON numbers are always finite (the decoder refuses NaN and overflow).
    """
    if name not in event.fields:
        raise InvalidEvent(
            Reason.MISSING_FIELD,
            f"fields.{name}: missing; this {show(event.type)} event must carry {name} for its KPI",
            event.id,
        )
    value = event.fields[name]
    if type(value) is float or type(value) is int:
        if not math.isfinite(value):
            raise InvalidEvent(Reason.NOT_A_NUMBER, f"fields.{name}: {show(value)} is not a finite number", event.id)
        return value
    raise InvalidEvent(
        Reason.NOT_A_NUMBER, f"fields.{name}: expected a JSON number, got {_kind(value)} {show(value)}", event.id
    )


def nps_field(event: Event, name: str) -> float:
    """The KPI field ``name`` as an NPS answer in 0..10; adds ``nps_out_of_range`` to ``number_field``'s checks."""
    value = number_field(event, name)
    if not 0 <= value <= 10:
        raise InvalidEvent(
            Reason.NPS_OUT_OF_RANGE, f"fields.{name}: {show(value)} is outside the 0-10 NPS scale; send 0..10", event.id
        )
    return value


def unknown_unit(event: Event) -> InvalidEvent:
    """The error for an event whose unit is not in the org tree (the engine knows the tree, this module the words)."""
    return InvalidEvent(
        Reason.UNKNOWN_UNIT, f"unit: {show(event.unit)} is not a unit of the scorecard; check the spelling", event.id
    )


# ---------------------------------------------------------------------------------------------------- helpers


def _event_id(value: object) -> str:
    if type(value) is str and value:
        return value
    if type(value) is int:
        return str(value)
    raise InvalidEvent(Reason.MISSING_ID, _need_text("id", value, "e-42", also="or an integer"))


def _event_time(value: object, event_id: str) -> float:
    if value is None or value == "":
        raise InvalidEvent(Reason.MISSING_TIME, f"time: missing; send e.g. {_EXAMPLE_TIME} or epoch seconds", event_id)
    try:
        epoch = parse_time(value)
    except (TimeFormatError, OverflowError):  # OverflowError: an integer too large for a float
        raise InvalidEvent(Reason.BAD_TIME, _bad_time(value), event_id) from None
    if not _MIN_EPOCH <= epoch < _MAX_EPOCH:
        hint = " (milliseconds? divide by 1000)" if epoch >= _MAX_EPOCH else ""
        raise InvalidEvent(
            Reason.BAD_TIME, f"time: {show(value)} is outside years 1000-9997{hint}; send epoch seconds", event_id
        )
    return epoch


def _bad_time(value: object) -> str:
    if isinstance(value, str):
        return f"time: {show(value)} is not RFC 3339 with an offset; send e.g. {_EXAMPLE_TIME}"
    return f"time: expected RFC 3339 text or epoch seconds, got {_kind(value)} {show(value)}; send e.g. {_EXAMPLE_TIME}"


def _need_text(name: str, value: object, example: str, also: str = "") -> str:
    wanted = f"a non-empty string {also}".rstrip()
    if value is None:
        return f'{name}: missing; send {wanted}, e.g. "{name}": "{example}"'
    return f'{name}: expected {wanted}, got {_kind(value)} {show(value)}; e.g. "{name}": "{example}"'


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def show(value: object) -> str:
    """A value as a detail shows it: a bounded ``repr`` (``reprlib``: long strings and numbers elided in the middle,
    containers shortened, control characters escaped), with a long string's length noted. A million-character unit
    name must not make a megabyte message."""
    if isinstance(value, str):
        if len(value) <= _REPR.maxstring:  # the usual case, without reprlib's machinery
            return repr(value)
        return f"{_REPR.repr(value)} ({len(value):,} characters)"
    if type(value) in (int, float, bool) or value is None:
        return clip(repr(value), SHOWN_VALUE)  # an int's repr is at most 4,300 digits (Python's own limit)
    return clip(_REPR.repr(value), SHOWN_VALUE)


_REPR: Final = reprlib.Repr()
_REPR.maxstring = _REPR.maxlong = _REPR.maxother = 80
_REPR.maxlevel = 3


def _kind(value: object) -> str:
    """JSON's name for a value's type: messages speak the producer's language, not Python's."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__
