"""The real Prometheus scrapes both metrics endpoints through their web config: TLS with client certificates and
basic authentication (bcrypt), as an operations team would run them.

A worker (on the shared Kafka and Redis, with a topic and app id of its own) and an exporter run as processes with
``--web-config`` (one file in exporter-toolkit's format for both); a Prometheus of this test's own, started by
``deploy/local/services`` on port 29090 with a config written here, scrapes them over TLS with the CA, a client
certificate and the password. Both targets must be ``up == 1``; a third job with a wrong password must be down with
a 401. Requests without the password, with a wrong one, without a client certificate, or in plain HTTP are refused.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from tests.certs import Pki, make_pki
from tests.integration.pipeline import Deployment, WorkerProcess, free_port, run_services, wait_until
from tests.paths import ACME

PROMETHEUS_PORT = 29090
USER, PASSWORD = "prometheus", "correct horse: battery staple"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def web_config(tmp_path: Path, pki: Pki) -> Path:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    config = {
        "tls_server_config": {
            "cert_file": str(pki.server_cert),
            "key_file": str(pki.server_key),
            "client_ca_file": str(pki.ca),
            "client_auth_type": "RequireAndVerifyClientCert",
        },
        "basic_auth_users": {USER: hashed},
    }
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _get(url: str, pki: Pki, *, password: str | None = PASSWORD, certificate: bool = True) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if certificate:
        context.load_cert_chain(pki.client_cert, pki.client_key)
    request = urllib.request.Request(url)
    if password is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _serves(url: str, pki: Pki) -> bool:
    try:
        return _get(url, pki)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


@pytest.fixture
def exporter(deployment: Deployment, web_config: Path, pki: Pki) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "scorecard", "exporter", "--scorecard", str(ACME), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--web-config", str(web_config)]
    with (deployment.workdir / "exporter.log").open("wb") as log:
        process = subprocess.Popen(command, env=deployment.env(), stdout=log, stderr=subprocess.STDOUT)
    target = f"127.0.0.1:{port}"
    try:
        wait_until(lambda: _serves(f"https://{target}/metrics", pki), 60, "the exporter's /metrics over TLS")
        yield target
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def worker(deployment: Deployment, web_config: Path, pki: Pki) -> WorkerProcess:
    worker = deployment.start_worker(SCORECARD_METRICS_WEB_CONFIG=str(web_config))
    url = f"https://127.0.0.1:{worker.metrics_port}/metrics"
    wait_until(lambda: _serves(url, pki) or not worker.alive(), 120, "the worker's /metrics over TLS")
    assert worker.alive(), worker.log()
    return worker  # the deployment fixture stops it


@pytest.fixture
def prometheus(tmp_path: Path, pki: Pki, exporter: str, worker: WorkerProcess) -> Iterator[str]:
    (tmp_path / "password").write_text(PASSWORD)
    (tmp_path / "wrong-password").write_text("not " + PASSWORD)
    tls = {"ca_file": str(pki.ca), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}

    def job(name: str, target: str, password_file: str) -> dict[str, Any]:
        return {
            "job_name": name,
            "scheme": "https",
            "tls_config": tls,
            "basic_auth": {"username": USER, "password_file": str(tmp_path / password_file)},
            "static_configs": [{"targets": [target]}],
        }

    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            job("scorecard-exporter", exporter, "password"),
            job("scorecard-worker", f"127.0.0.1:{worker.metrics_port}", "password"),
            job("wrong-password", exporter, "wrong-password"),
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}"
    env = {
        **os.environ,
        "SCORECARD_PROMETHEUS_URL": url,
        "SCORECARD_SERVICES_DIR": str(tmp_path / "services"),
        "SCORECARD_PROMETHEUS_CONFIG": str(tmp_path / "prometheus.yml"),
    }
    run_services(env, "up", "prometheus")
    try:
        yield url
    finally:
        run_services(env, "down", "prometheus")


def _api(url: str, path: str, **params: str) -> Any:
    with urllib.request.urlopen(f"{url}/api/v1/{path}?{urllib.parse.urlencode(params)}", timeout=10) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return answer["data"]


def _up(url: str) -> dict[str, float]:
    return {r["metric"]["job"]: float(r["value"][1]) for r in _api(url, "query", query="up")["result"]}


def test_prometheus_scrapes_both_endpoints_over_tls_with_basic_auth(
    prometheus: str, exporter: str, worker: WorkerProcess, pki: Pki
) -> None:
    expected = {"scorecard-exporter": 1.0, "scorecard-worker": 1.0, "wrong-password": 0.0}
    wait_until(lambda: _up(prometheus) == expected, 90, f"up == {expected}")
    scraped = _api(prometheus, "query", query='scorecard_exporter_redis_up{job="scorecard-exporter"}')["result"]
    assert scraped and scraped[0]["value"][1] == "1"  # the exporter's own series, read through TLS and auth
    samples = _api(prometheus, "query", query='scrape_samples_scraped{job="scorecard-worker"}')["result"]
    assert samples and float(samples[0]["value"][1]) > 0
    targets = {t["labels"]["job"]: t for t in _api(prometheus, "targets")["activeTargets"]}
    assert targets["scorecard-exporter"]["scrapeUrl"].startswith("https://")
    assert "401" in targets["wrong-password"]["lastError"], targets["wrong-password"]

    for target in (exporter, f"127.0.0.1:{worker.metrics_port}"):
        metrics = f"https://{target}/metrics"
        assert _get(metrics, pki)[0] == 200
        assert _get(metrics, pki, password=None)[0] == 401
        assert _get(metrics, pki, password="wrong")[0] == 401
        assert _get(f"https://{target}/healthz", pki, password=None) == (200, b"ok\n")
        with pytest.raises((OSError, http.client.HTTPException)):  # no client certificate: the handshake fails
            _get(metrics, pki, certificate=False)
        with pytest.raises((OSError, http.client.HTTPException)):  # plain HTTP to the TLS port
            urllib.request.urlopen(f"http://{target}/metrics", timeout=10).read()
