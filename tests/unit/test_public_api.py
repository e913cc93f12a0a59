"""The public API of ``scorecard/__init__.py`` does what its docstring shows: the replay's report, as the CLI prints."""

from __future__ import annotations

from click.testing import CliRunner

import scorecard
from scorecard.cli import main
from scorecard.core.timeutil import parse_time
from tests.paths import REPO

RECEIVED = "2026-12-01T00:00:00Z"


def test_the_documented_library_use_prints_what_scorecard_replay_prints() -> None:
    definition = scorecard.load_scorecard(REPO / "examples" / "acme.yaml")
    with (REPO / "examples" / "acme-events.jsonl").open("rb") as events:
        result = scorecard.replay(definition, events, received_at=parse_time(RECEIVED))
    report = scorecard.dumps(result.evaluate())
    args = ["replay", str(REPO / "examples" / "acme.yaml"), str(REPO / "examples" / "acme-events.jsonl")]
    printed = CliRunner().invoke(main, [*args, "--format", "json", "--received-at", RECEIVED])
    assert printed.exit_code == 0, printed.output
    assert report == printed.stdout_bytes
