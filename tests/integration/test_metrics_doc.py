"""Every PromQL example of docs/metrics.md parses and evaluates in the real Prometheus (SCORECARD_PROMETHEUS_URL).

Prometheus answers a query it cannot parse with HTTP 400 and ``errorType: bad_data``; a query on series that do not
exist yet is still a success (an empty vector), so this checks the syntax and the functions, not the data.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from scorecard.config import Settings
from tests.paths import REPO

DOC = REPO / "docs" / "metrics.md"
QUERIES = re.findall(r"```promql\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_page_has_examples() -> None:
    assert len(QUERIES) >= 6


@pytest.mark.parametrize("query", QUERIES, ids=[f"block{i}" for i in range(len(QUERIES))])
def test_example_query_is_accepted_by_prometheus(settings: Settings, query: str) -> None:
    url = f"{settings.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        pytest.fail(f"Prometheus refused the query from {DOC.name}:\n{query}\n{error.read().decode()}")
    except urllib.error.URLError as error:
        pytest.fail(
            f"Prometheus is not reachable at {settings.prometheus_url} ({error}); start it with "
            "`deploy/local/services up prometheus`",
            pytrace=False,
        )
    assert body["status"] == "success", body
