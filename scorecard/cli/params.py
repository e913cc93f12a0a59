"""Parameter types and parsing: durations in Prometheus's syntax or seconds (``Duration``, ``duration_param``) and
times in RFC 3339 or epoch seconds (``time_param``, ``parse_at``), each a usage error naming the option when wrong.
"""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn

import click

from scorecard.core.timeutil import (
    DurationRangeError,
    TimeFormatError,
    check_event_time,
    duration_milliseconds,
    format_duration,
    parse_duration,
    parse_time_text,
    short_value,
)
from scorecard.outputs.terminal import printable


def parse_at(text: str | None, option: str = "--at") -> float | None:
    if text is None:
        return None
    return time_param(text, option)


def time_param(text: str, option: str) -> float:
    """A time option: RFC 3339 or epoch seconds, within the range events may have (years 1000-9997)."""
    try:
        return check_event_time(parse_time_text(text), text)
    except TimeFormatError as err:
        raise click.BadParameter(printable(err), param_hint=option) from None


def duration_param(text: str, option: str) -> int:

    try:
        return parse_duration(text)
    except TimeFormatError as err:
        raise click.BadParameter(str(err), param_hint=option) from None


class Duration(click.ParamType):
    """A duration option: Prometheus's syntax (``500ms``, ``90s``, ``1h30m``, ``2w``) or a plain number of seconds,
    converted to seconds (a float). ``zero`` allows ``0`` (the option says what it means); ``minimum`` is in seconds.
    """

    name = "duration"

    def __init__(self, *, zero: bool = False, minimum: float = 0.0, whole_seconds: bool = False) -> None:
        self.zero = zero
        self.minimum = minimum
        self.whole_seconds = whole_seconds

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            text = str(value).strip()
            try:
                seconds = float(text) if _PLAIN_SECONDS.match(text) else duration_milliseconds(text) / 1000
            except DurationRangeError as err:
                self._fail(str(err), param, ctx)
            except TimeFormatError:
                self._fail(
                    f"expected a duration like 30s, 1h30m or 500ms, or seconds; got {short_value(text)}", param, ctx
                )
        shown = short_value(str(value))
        if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not self.zero):
            self._fail(f"expected a positive duration, got {shown}", param, ctx)
        if 0 < seconds < self.minimum:
            self._fail(f"expected at least {format_duration(self.minimum)}, got {shown}", param, ctx)
        if self.whole_seconds and seconds != int(seconds):
            self._fail(f"expected whole seconds, got {shown}", param, ctx)
        return seconds

    @staticmethod
    def _fail(message: str, param: click.Parameter | None, ctx: click.Context | None) -> NoReturn:
        """A usage error naming the option as typed (``Invalid value for --for: ...``)."""
        hint = " / ".join(param.opts) if param is not None and param.opts else None
        raise click.BadParameter(printable(message), ctx=ctx, param_hint=hint)


_PLAIN_SECONDS = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,9})?$")
