# The two commands of the README: `make demo` (the main job) and `make test` (what .ci/run calls).
# Everything else here is a building block of those two.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := deploy/local/services

.PHONY: help install demo demo-docker test unit lint services-up services-down services-status kafka-jars clean

help:
	@echo "make demo             run the live demo (starts what it needs, stops what it started on Ctrl-C)"
	@echo "make demo-docker      the same stack with Docker (docker compose up --build), plus Grafana"
	@echo "make test             install what is missing, start Kafka/Redis/Prometheus, run every test, stop them"
	@echo "make unit             fast unit tests only (no services)"
	@echo "make lint             ruff + mypy"
	@echo "make services-up      start Kafka and Redis (add SERVICES_UP='kafka redis prometheus' for more)"
	@echo "make services-down    stop every local service"
	@echo "make services-status  show what runs where"

# The virtualenv is rebuilt when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[worker,test]'
	@touch $@

install: $(BIN)/.installed

kafka-jars:
	$(SERVICES) fetch

SERVICES_UP ?= kafka redis
services-up:
	$(SERVICES) up $(SERVICES_UP)

services-down:
	$(SERVICES) down

services-status:
	$(SERVICES) status

test: install
	deploy/local/run-tests

unit: install
	$(BIN)/pytest -m "not integration" -q

lint: install
	$(BIN)/ruff check scorecard streams tests bench
	$(BIN)/ruff format --check scorecard streams tests bench
	$(BIN)/mypy

demo: install
	deploy/local/demo

demo-docker:
	@test -f .env || { echo "copy .env.example to .env and set its passwords first (README: With Docker instead)"; exit 1; }
	docker compose up --build

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
