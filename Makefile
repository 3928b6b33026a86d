# DMS: the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.8
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: run stop status test test-deps chaos test-unit lint servers deps versions

## run: provision and start the real servers, the four services and the gateway
run: deps
	deploy/local/stack up
	@echo "DMS berjalan: portal http://127.0.0.1:8080/  ·  API staf http://127.0.0.1:8080/api/v1/  ·  make stop untuk berhenti"

## stop: stop everything `make run` started (data is kept)
stop:
	deploy/local/stack down

status:
	deploy/local/stack status

## test: start the real servers, install the workspace, run every test
test: deps test-deps
	deploy/local/stack up
	deploy/local/stack versions
	uv run pytest tests

## test-deps: what only the tests need outside Python: Chromium for the page tests, and the
## docker compose plugin for checking docker-compose.yml (no engine needed)
test-deps:
	@dpkg-query -W -f='$${Status}' chromium 2>/dev/null | grep -q "install ok installed" || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		  --no-install-recommends chromium fonts-dejavu-core; }
	deploy/local/compose-plugin

## chaos: the kill test alone, e.g. `DMS_CHAOS_DOCS=10000 make chaos` for the full run
chaos: deps test-deps
	deploy/local/stack up
	uv run pytest tests/chaos -s

test-unit: deps test-deps
	uv run pytest tests/unit

lint: deps
	uv run ruff check .
	uv run mypy services tests

## deps: uv (pinned) and the locked workspace
deps:
	@command -v uv >/dev/null 2>&1 && [[ "$$(uv --version)" == "uv $(UV_VERSION)"* ]] || \
		python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	uv sync --frozen --quiet
