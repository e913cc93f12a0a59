"""Where the files the tests read live: the repository, the example definition and events, the fixture files."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ACME = REPO / "examples" / "acme.yaml"
ACME_EVENTS = REPO / "examples" / "acme-events.jsonl"
DEFINITIONS = REPO / "tests" / "fixtures" / "definitions"
"""Hand-written definition files: minimal.yaml, many_problems.yaml, syntax_error.yaml, owners.yaml."""
REPLAY_FIXTURES = REPO / "tests" / "fixtures" / "replay"
"""shop.yaml and shop-events.jsonl: a small definition and events with every outcome."""
