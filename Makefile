# OnAir: `make run` and `make test` work from nothing on a fresh Debian machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/lib/chromium/chromium
HOST ?= 127.0.0.1
PORT ?= 8080

# The servers tests start themselves (tests/daemons.py) and the binary each
# package brings; systemd for systemd-analyze (docs/deploy/onair.service).
DAEMON_PKGS := nginx:/usr/sbin/nginx coturn:/usr/bin/turnserver redis-server:/usr/bin/redis-server \
	systemd:/usr/bin/systemd-analyze openssl:/usr/bin/openssl

.PHONY: install run run-workers test bench lint chromium daemons axe clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || (apt-get update && apt-get install -y python3 python3-venv)
	@$(PY) -c 'import ensurepip' 2>/dev/null || (apt-get update && apt-get install -y python3-venv)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

chromium:
	@test -x $(CHROMIUM) || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# axe-core (the npm package) for the accessibility tests (tests/browser/test_web_firstten_a11y.py),
# kept inside the venv; npm from Debian when the machine has none.
AXE_VERSION := 4.10.3
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	@command -v npm >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm)
	npm install --prefix $(VENV)/axe --no-audit --no-fund --no-save --no-package-lock axe-core@$(AXE_VERSION)
	test -f $(AXE)

# Installs what is missing, and starts none of it: a policy-rc.d that says "no"
# (Debian policy 9.3.3, invoke-rc.d) keeps the packages off ports 80, 3478 and 6379
# while they install, and where systemd runs, what was new is disabled too.
daemons:
	@missing=$$(for pair in $(DAEMON_PKGS); do test -x "$${pair#*:}" || echo "$${pair%%:*}"; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing" $$missing "(not started: the tests run their own)"; \
	  guard=; \
	  if [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1; \
	  fi; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	  status=$$?; \
	  if [ -n "$$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
	  if [ -d /run/systemd/system ]; then \
	    for pkg in $$missing; do systemctl disable --now "$$pkg" >/dev/null 2>&1 || true; done; \
	  fi; \
	  exit $$status; \
	fi

run: install
	$(BIN)/onair serve --host $(HOST) --port $(PORT)

# One show on every core: a local redis-server (stopped with the server) and WORKERS workers.
WORKERS ?= auto
REDIS_PORT ?= 6390
run-workers: install daemons
	@mkdir -p data/redis
	redis-server --bind 127.0.0.1 --port $(REDIS_PORT) --save '' --appendonly no --dir data/redis \
	  --daemonize yes --pidfile $(CURDIR)/data/redis/redis.pid
	trap 'kill $$(cat data/redis/redis.pid) 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/onair serve --host $(HOST) --port $(PORT) --workers $(WORKERS) --redis redis://127.0.0.1:$(REDIS_PORT)/0

# Two runs: Playwright's sync API keeps an event loop of its own running while
# its browser lives, which pytest-asyncio's tests cannot share.
test: install chromium daemons axe
	$(BIN)/python -m pytest -q -p no:cacheprovider tests --ignore=tests/browser
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

bench: install
	$(BIN)/python -m benchmarks.run

# ruff, the type check and the import contract (pyproject.toml's [tool.importlinter]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache
