"""Fixtures for the definition, hierarchy and `scorecard validate` tests: where the example and fixture files live."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def example_path() -> Path:
    """The ACME example definition shipped in examples/."""
    return REPO / "examples" / "acme.yaml"


@pytest.fixture
def definitions_dir() -> Path:
    """Hand-written definition files: minimal.yaml, many_problems.yaml, syntax_error.yaml."""
    return REPO / "tests" / "fixtures" / "definitions"
