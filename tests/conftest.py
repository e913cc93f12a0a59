"""Suite-wide pytest setup: the shared fixtures (the example and fixture paths; ``tests/paths.py`` has them as
constants for module-level use) and the markers given by where a test lives and by what data it uses.

- Everything under tests/integration is marked ``integration``.
- Every test that uses fixed example data through the fixtures of tests/integration/conftest.py (``acme_events``,
  ``fixed_start``) is marked ``fixed_data``: ``make test`` runs those once more with the data moved 400 days into the
  past (``SCORECARD_TEST_SHIFT``, tests/timeshift.py), which proves none of them depends on the data being recent.
  Tests whose subject is the infrastructure (secured or clustered Kafka and Redis, brokers lost or late) take data
  that moves with the clock instead (``recent_acme_events``, ``recent_start``) and are not in that set: the age of
  the data is tested by the pipeline tests that share their code path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.paths import ACME, DEFINITIONS

INTEGRATION_DIR = Path(__file__).parent / "integration"
FIXED_DATA_FIXTURES = frozenset({"acme_events", "fixed_start"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
        if FIXED_DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.fixed_data)


@pytest.fixture
def example_path() -> Path:
    """The ACME example definition shipped in examples/."""
    return ACME


@pytest.fixture
def definitions_dir() -> Path:
    """Hand-written definition files: minimal.yaml, many_problems.yaml, syntax_error.yaml, owners.yaml."""
    return DEFINITIONS
