# OnAir: `make run` and `make test` work from nothing on a fresh Debian machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/lib/chromium/chromium
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install run test bench lint chromium clean

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

run: install
	$(BIN)/onair serve --host $(HOST) --port $(PORT)

# Two runs: Playwright's sync API keeps an event loop of its own running while
# its browser lives, which pytest-asyncio's tests cannot share.
test: install chromium
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
