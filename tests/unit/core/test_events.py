"""Event decoding: both time formats, every rejection reason, and the engine-side helpers."""

from __future__ import annotations

import json

import pytest

from scorecard.core.events import (
    REASONS,
    Event,
    InvalidEvent,
    Reason,
    decode_event,
    encode_event,
    event_from_mapping,
    nps_field,
    number_field,
    unknown_unit,
)

GOOD = {
    "id": "e-42",
    "type": "order_completed",
    "unit": "sales-emea",
    "time": "2026-11-27T10:15:00Z",
    "fields": {"amount": 120.5, "channel": "online"},
}
EPOCH = 1_795_774_500.0  # 2026-11-27T10:15:00Z
DROP = object()  # a key to leave out of the event


def raw(**changes: object) -> bytes:
    obj = {**GOOD, **changes}
    for key in [k for k, v in changes.items() if v is DROP]:
        del obj[key]
    return json.dumps(obj).encode()


def reason_of(data: bytes | str) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        decode_event(data)
    return caught.value


def test_valid_event_with_rfc3339_time() -> None:
    event = decode_event(raw())
    assert event == Event("e-42", "order_completed", "sales-emea", EPOCH, {"amount": 120.5, "channel": "online"})


def test_valid_event_with_offset_and_with_epoch_seconds() -> None:
    assert decode_event(raw(time="2026-11-27T11:15:00+01:00")).time == EPOCH
    assert decode_event(raw(time=1_795_774_500)).time == EPOCH
    assert decode_event(raw(time=1_795_774_500.25)).time == EPOCH + 0.25
    assert decode_event(raw(time="2026-11-27T10:15:00.250Z")).time == EPOCH + 0.25


def test_fields_are_optional_and_str_input_works() -> None:
    event = decode_event(raw(fields=DROP).decode())
    assert event.fields == {}
    other = decode_event(raw(fields=DROP))
    other.fields["x"] = 1
    assert event.fields == {}  # each event has its own dict


def test_integer_ids_become_text() -> None:
    assert decode_event(raw(id=42)).id == "42"
    assert decode_event(raw(id=12345678901234567890123)).id == "12345678901234567890123"


def test_unknown_keys_are_ignored() -> None:
    assert decode_event(raw(source="pos-7")).unit == "sales-emea"


@pytest.mark.parametrize(
    ("data", "reason", "words"),
    [
        (b"{not json", Reason.NOT_JSON, "not valid JSON"),
        (b"", Reason.NOT_JSON, "not valid JSON"),
        (b"\xff\xfe", Reason.NOT_JSON, "not valid JSON"),
        (b'{"id": "a"} trailing', Reason.NOT_JSON, "not valid JSON"),
        (b"[1, 2]", Reason.NOT_OBJECT, "got array"),
        (b'"e-42"', Reason.NOT_OBJECT, "got string"),
        (b"null", Reason.NOT_OBJECT, "got null"),
        (raw(id=DROP), Reason.MISSING_ID, "id: missing"),
        (raw(id=""), Reason.MISSING_ID, "non-empty string"),
        (raw(id=None), Reason.MISSING_ID, "id: missing"),
        (raw(id=4.2), Reason.MISSING_ID, "got number 4.2"),
        (raw(id=True), Reason.MISSING_ID, "got boolean"),
        (raw(type=DROP), Reason.MISSING_TYPE, "type: missing"),
        (raw(type=""), Reason.MISSING_TYPE, "type"),
        (raw(type=7), Reason.MISSING_TYPE, "got number 7"),
        (raw(unit=DROP), Reason.MISSING_UNIT, "unit: missing"),
        (raw(unit=""), Reason.MISSING_UNIT, "unit"),
        (raw(unit=["a"]), Reason.MISSING_UNIT, "got array"),
        (raw(time=DROP), Reason.MISSING_TIME, "time: missing"),
        (raw(time=""), Reason.MISSING_TIME, "time: missing"),
        (raw(time=None), Reason.MISSING_TIME, "time: missing"),
        (raw(time="2026-13-01"), Reason.BAD_TIME, "time: '2026-13-01' is not RFC 3339"),
        (raw(time="2026-11-27T10:15:00"), Reason.BAD_TIME, "with an offset"),
        (raw(time="yesterday"), Reason.BAD_TIME, "send e.g. 2026-11-27T10:15:00Z"),
        (raw(time=True), Reason.BAD_TIME, "got boolean"),
        (raw(time={"s": 1}), Reason.BAD_TIME, "got object"),
        (raw(time=1_795_774_500_000), Reason.BAD_TIME, "milliseconds"),
        (raw(time=10**30), Reason.BAD_TIME, "milliseconds"),
        (raw(time=10**400), Reason.BAD_TIME, "epoch seconds"),
        (raw(fields=None), Reason.BAD_FIELDS, "fields: null"),
        (raw(fields=[1, 2]), Reason.BAD_FIELDS, "got array"),
        (raw(fields="amount=3"), Reason.BAD_FIELDS, "got string"),
    ],
)
def test_invalid_events(data: bytes, reason: Reason, words: str) -> None:
    error = reason_of(data)
    assert error.reason == reason
    assert words in error.detail
    assert str(error).startswith(f"{reason.value}: ")


def test_error_carries_the_event_id_when_known() -> None:
    error = reason_of(raw(time="nope"))
    assert error.event_id == "e-42"
    assert str(error).endswith("(event e-42)")
    assert reason_of(raw(id=DROP)).event_id is None


def test_first_problem_wins_in_field_order() -> None:
    assert reason_of(raw(id=DROP, unit=DROP)).reason == Reason.MISSING_ID
    assert reason_of(raw(unit=DROP, time=DROP)).reason == Reason.MISSING_UNIT


def test_event_from_mapping_matches_decode() -> None:
    assert event_from_mapping(GOOD) == decode_event(raw())
    with pytest.raises(InvalidEvent) as caught:
        event_from_mapping(["not", "a", "dict"])
    assert caught.value.reason == Reason.NOT_OBJECT


def test_encode_round_trip() -> None:
    event = decode_event(raw())
    data = encode_event(event)
    assert json.loads(data)["time"] == "2026-11-27T10:15:00Z"
    assert decode_event(data) == event
    precise = Event("e-1", "t", "u", EPOCH + 0.000123, {"n": 1})
    assert decode_event(encode_event(precise)) == precise  # sub-millisecond time survives as epoch seconds


def test_reason_codes_are_stable() -> None:
    assert REASONS == (
        "not_json",
        "not_object",
        "missing_id",
        "missing_type",
        "missing_unit",
        "missing_time",
        "bad_time",
        "bad_fields",
        "unknown_unit",
        "missing_field",
        "not_a_number",
        "nps_out_of_range",
        "too_large",
        "too_deep",
        "undecodable",
        "time_in_future",
        "out_of_range",
    )


# --------------------------------------------------------------------------------------- engine-side checks


def event_with(**fields: object) -> Event:
    return Event("e-7", "survey_answered", "support", EPOCH, dict(fields))


def test_number_field() -> None:
    assert number_field(event_with(amount=120.5), "amount") == 120.5
    assert number_field(event_with(amount=3), "amount") == 3


@pytest.mark.parametrize(
    ("fields", "reason", "words"),
    [
        ({}, Reason.MISSING_FIELD, "fields.amount: missing"),
        ({"amount": "12.5"}, Reason.NOT_A_NUMBER, "got string '12.5'"),
        ({"amount": True}, Reason.NOT_A_NUMBER, "got boolean"),
        ({"amount": None}, Reason.NOT_A_NUMBER, "got null"),
        ({"amount": float("nan")}, Reason.NOT_A_NUMBER, "not a finite number"),
    ],
)
def test_number_field_rejections(fields: dict[str, object], reason: Reason, words: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        number_field(event_with(**fields), "amount")
    assert caught.value.reason == reason
    assert words in caught.value.detail
    assert caught.value.event_id == "e-7"


def test_nps_field() -> None:
    assert nps_field(event_with(score=0), "score") == 0
    assert nps_field(event_with(score=10), "score") == 10
    for bad in (-1, 10.5, 11):
        with pytest.raises(InvalidEvent) as caught:
            nps_field(event_with(score=bad), "score")
        assert caught.value.reason == Reason.NPS_OUT_OF_RANGE
    with pytest.raises(InvalidEvent) as caught:
        nps_field(event_with(), "score")
    assert caught.value.reason == Reason.MISSING_FIELD


def test_unknown_unit_error() -> None:
    error = unknown_unit(event_with())
    assert error.reason == Reason.UNKNOWN_UNIT
    assert "'support'" in error.detail
    assert error.event_id == "e-7"


def test_time_range_edges() -> None:
    assert decode_event(raw(time="1000-01-01T00:00:00Z")).time == -30_610_224_000.0
    assert decode_event(raw(time="9997-12-31T23:59:59Z")).time == 253_339_228_799.0
    assert reason_of(raw(time="0999-12-31T23:59:59Z")).reason == Reason.BAD_TIME
    assert reason_of(raw(time="9998-01-01T00:00:00Z")).reason == Reason.BAD_TIME
    assert "years 1000-9997" in reason_of(raw(time=-(10**12))).detail
