"""docker-compose.yml cannot run here (no Docker engine), so check that it is consistent with the repository.

Every service has a pinned image or a build with a Dockerfile, host ports are unique, every bind-mounted path exists,
dependencies name real services, and the addresses in the mounted configs (Prometheus targets, Grafana datasource,
SCORECARD_* variables) point at services and ports that the compose file really defines.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from tests.paths import REPO as ROOT


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _container_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(p).split(":")[-1]) for p in service.get("ports", [])}


def test_every_service_has_a_pinned_image_or_a_build(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            context = ROOT / (service["build"] if isinstance(service["build"], str) else service["build"]["context"])
            assert (context / "Dockerfile").is_file(), f"{name}: no Dockerfile in {context}"
        else:
            image = service.get("image", "")
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag, got {image!r}"


def test_official_images_for_the_real_components(compose: dict[str, Any]) -> None:
    images = {name: s.get("image", "").split(":")[0] for name, s in compose["services"].items()}
    assert images["kafka"] == "apache/kafka"
    assert images["redis"] == "redis"
    assert images["prometheus"] == "prom/prometheus"
    assert images["alertmanager"] == "prom/alertmanager"
    assert images["grafana"] == "grafana/grafana"
    assert compose["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_host_ports_are_unique_and_numeric(compose: dict[str, Any]) -> None:
    seen: dict[int, str] = {}
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            host, _, container = str(mapping).rpartition(":")
            assert host.isdigit() and container.isdigit(), f"{name}: port mapping {mapping!r} is not HOST:CONTAINER"
            assert int(host) not in seen, f"host port {host} used by {seen.get(int(host))} and {name}"
            seen[int(host)] = name


def test_bind_mounts_exist_and_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set((compose.get("volumes") or {}).keys())
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: mounted path {source} does not exist"
            else:
                assert source in declared, f"{name}: named volume {source} is not declared at the top level"


def test_dependencies_name_real_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services, f"{name} depends on unknown service {dependency}"


def test_prometheus_targets_are_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = [t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    targets += [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert targets
    for target in targets:
        host, _, port = target.rpartition(":")
        assert host in services, f"Prometheus target {target}: no service {host}"
        assert int(port) in _container_ports(services[host]), f"Prometheus target {target}: {host} exposes no {port}"
    mounted_rules = [v for v in services["prometheus"]["volumes"] if v.split(":")[1] == "/etc/prometheus/rules"]
    assert mounted_rules and config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards_mount(compose: dict[str, Any]) -> None:
    services = compose["services"]
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    url = urlparse(datasources["datasources"][0]["url"])
    assert url.hostname in services and url.port in _container_ports(services[str(url.hostname)])
    providers = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/scorecard.yml").read_text())
    dashboard_path = providers["providers"][0]["options"]["path"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"]}
    assert dashboard_path in mounts and (ROOT / mounts[dashboard_path]).is_dir()


def test_application_services_reach_kafka_and_redis_inside_the_network(compose: dict[str, Any]) -> None:
    services = compose["services"]
    listeners = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    for name in ("worker", "exporter"):
        env = services[name]["environment"]
        if "SCORECARD_KAFKA_BOOTSTRAP" in env:
            assert env["SCORECARD_KAFKA_BOOTSTRAP"] in listeners, f"{name}: bootstrap is not an advertised listener"
        redis = urlparse(env["SCORECARD_REDIS_URL"])
        assert redis.hostname == "redis" and redis.port in _container_ports(services["redis"])


def test_dockerfile_copies_paths_that_exist() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            *sources, _destination = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies missing path {source}"


def test_application_commands_parse_with_the_real_cli(compose: dict[str, Any]) -> None:
    """Every built service's command is a real `scorecard` command with real flags (paths under /app = the repo)."""
    from scorecard.cli import main

    built = {name: s for name, s in compose["services"].items() if "build" in s}
    assert {"worker", "exporter", "simulator"} <= set(built)
    for name, service in built.items():
        command, *args = (str(arg).replace("/app/", f"{ROOT}/") for arg in service["command"])
        cli_command = main.commands.get(command)
        assert cli_command is not None, f"{name}: `scorecard {command}` does not exist"
        cli_command.make_context(command, list(args))  # raises click.UsageError on an unknown or bad flag
