# Counterline: `make run` sets up and starts the app on the demo store; `make test` runs every check.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= $(CURDIR)/var/demo
APT_PACKAGES := libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libzbar0 libusb-1.0-0 \
	xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 \
	libxkbcommon-x11-0 libxcb-randr0 libxcb-xinerama0 poppler-utils fonts-dejavu-core
export QT_QPA_PLATFORM ?= offscreen
export ESCPOS_CAPABILITIES_PICKLE_DIR ?= $(CURDIR)/.cache/escpos

.PHONY: run test system venv lint typecheck layers pytest postgres bench demo-reset clean

system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing system packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "Missing system packages (run as root or with sudo): apt-get install $$missing"; exit 1; fi; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@mkdir -p .cache/escpos && touch $(STAMP)

venv: $(STAMP)

run: system venv
	@if [ -z "$$DISPLAY" ] && [ "$$QT_QPA_PLATFORM" = offscreen ]; then unset QT_QPA_PLATFORM; fi; \
	if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
	  echo "No screen found: starting the app under Xvfb (a virtual screen)."; \
	  QT_QPA_PLATFORM=xcb xvfb-run -a -s '-screen 0 1280x800x24' $(BIN)/counterline --data-dir $(DATA) --demo; \
	else QT_QPA_PLATFORM= $(BIN)/counterline --data-dir $(DATA) --demo; fi

postgres:
	@bash .ci/postgres.sh

lint: venv
	$(BIN)/ruff check app ui devices sync tests benchmarks
	$(BIN)/ruff format --check app ui devices sync tests benchmarks

typecheck: venv
	$(BIN)/mypy

layers: venv
	$(BIN)/lint-imports

pytest: venv
	@# Build python-escpos's capability cache once before two test workers race to write it.
	@mkdir -p $(ESCPOS_CAPABILITIES_PICKLE_DIR) && $(BIN)/python -c "import escpos.printer"
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test: system venv postgres lint typecheck layers pytest

bench: venv
	$(BIN)/python benchmarks/run_all.py

demo-reset:
	rm -rf $(DATA)

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache var
