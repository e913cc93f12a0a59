"""The checks of a KPI's ``alert:`` options (``model.AlertOptions``): how its generated alerts differ from the defaults.

``scorecard rules`` gives every KPI a red-flag alert and a below-goal alert. A team that shares its Prometheus and
Alertmanager with others wants to set, per KPI, how long a status must last (``for``), how loud each alert is
(``severity``, ``below_goal_severity``), extra routing labels, extra annotations and a runbook link, as Sloth lets
each objective do. The defaults page nobody: a red flag is ``warning`` and below goal ``info``.

Labels and annotations are checked here so that a mistake is a ``file:line: path: message`` problem of the
definition instead of a rule file Prometheus refuses: label and annotation names follow Prometheus's rules, and
names the generator sets itself (``severity``, ``kpi``, ``scorecard``, ``owner``...) are refused with the field to
use instead. Values are plain text: the generator writes them so that they print as written (they are not templates).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Final

from pydantic import AfterValidator

from scorecard.core.timeutil import DurationRangeError, format_duration, parse_duration, short_value

__all__ = [
    "DEFAULT_BELOW_GOAL_SEVERITY",
    "DEFAULT_RED_SEVERITY",
    "MAX_ALERT_FOR",
    "RESERVED_ANNOTATIONS",
    "RESERVED_LABELS",
    "alert_pending",
    "http_url",
    "names",
    "severity",
]

DEFAULT_RED_SEVERITY: Final = "warning"
DEFAULT_BELOW_GOAL_SEVERITY: Final = "info"
MAX_ALERT_FOR: Final = 365 * 86400
"""The longest ``for``: a status held a year before alerting is no alert."""

RESERVED_LABELS: Final = {
    "alertname": "the alert's name is generated",
    "severity": "use alert.severity or alert.below_goal_severity",
    "scorecard": "it is the scorecard's name on every rule",
    "kpi": "it is the KPI's id",
    "unit": "it comes from the exporter's series",
    "perspective": "it comes from the exporter's series",
    "objective": "it comes from the exporter's series",
    "owner": "set owner on the unit or the KPI",
    "job": "Prometheus sets it when scraping",
    "instance": "Prometheus sets it when scraping",
}
"""Labels every KPI alert already has, with the reason a definition may not set them."""
RESERVED_ANNOTATIONS: Final = {
    "summary": "it is generated from the KPI's name, value, goal and red flag",
    "description": "it is generated from the KPI and its owner",
    "dashboard": "it links the KPI board (scorecard rules --grafana-url)",
    "runbook_url": "use alert.runbook_url",
}
"""Annotations every KPI alert already has, with the reason a definition may not set them."""

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SEVERITY = re.compile(r"^[A-Za-z0-9_.-]+$")


def alert_pending(value: object) -> int | None:
    """A positive duration of at most MAX_ALERT_FOR, or None (the option is not set)."""
    if value is None:
        return None
    try:
        seconds: int | None = parse_duration(value)  # type: ignore[arg-type]  # it checks the type itself
    except DurationRangeError:
        seconds = None
    if seconds is None or seconds > MAX_ALERT_FOR:
        got = format_duration(seconds) if seconds is not None else short_value(value)
        raise ValueError(f"expected a duration of at most {format_duration(MAX_ALERT_FOR)}, got {got}")
    return seconds


def names(kind: str, reserved: dict[str, str]) -> AfterValidator:
    """Check the keys of a labels or annotations mapping: Prometheus's name syntax, and none the generator sets."""

    def check(mapping: dict[str, str]) -> dict[str, str]:
        for name in mapping:
            if not _NAME.match(name) or name.startswith("__"):
                fixed = re.sub(r"[^a-zA-Z0-9_]", "_", name).lstrip("_")
                fixed = f"x_{fixed}" if not fixed or fixed[0].isdigit() else fixed
                raise ValueError(
                    f"{kind} name {short_value(name)} is not a Prometheus {kind} name (letters, digits and '_', not"
                    f" starting with a digit or '__'); write e.g. {fixed!r}"
                )
            if name in reserved:
                raise ValueError(f"{kind} {name!r} is set by the generator ({reserved[name]})")
        return mapping

    return AfterValidator(check)


def severity(value: str) -> str:
    if not _SEVERITY.match(value):
        raise ValueError(
            f"expected a severity of letters, digits, '.', '_' and '-' like warning or critical, got {value!r}"
        )
    return value


def http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or any(c.isspace() for c in value):
        raise ValueError(f"expected an absolute http(s) URL like https://wiki.example.com/runbooks/kpi, got {value!r}")
    return value
