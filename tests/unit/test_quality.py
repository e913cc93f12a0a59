"""Quality gates run as part of the suite: lint, format and type checks on the project's code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO as ROOT

BIN = Path(sys.executable).parent
CHECKED = ["scorecard", "streams", "tests", "bench"]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([str(BIN / "ruff"), "check", *CHECKED], id="ruff-check"),
        pytest.param([str(BIN / "ruff"), "format", "--check", *CHECKED], id="ruff-format"),
        pytest.param([str(BIN / "mypy")], id="mypy"),
    ],
)
def test_quality_gate(command: list[str]) -> None:
    existing = [c for c in command if not c.startswith(tuple(CHECKED)) or (ROOT / c).exists()]
    result = subprocess.run(existing, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(existing)} failed:\n{result.stdout}{result.stderr}"
