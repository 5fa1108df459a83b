# Counterline: `make run` sets up and starts the app on the demo store; `make test` runs every check.
# Root is needed only by `make system` (the Debian packages, and the PostgreSQL of the tests): an ordinary user runs
# `sudo make system` once, then `make run` / `make test`. Run as root in a checkout that belongs to another user, make
# does the root steps itself and everything else as the checkout's owner, so no file here becomes root's.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= $(CURDIR)/var/demo
# python3-venv: Debian's python3 makes no virtualenv without it (it holds ensurepip).
APT_PACKAGES := python3-venv libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libzbar0 \
	libusb-1.0-0 xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 \
	libxcb-shape0 libxkbcommon-x11-0 libxcb-randr0 libxcb-xinerama0 poppler-utils fonts-dejavu-core
# What the tests need beyond the app: a real browser for the central store's order status page, and objdump
# (binutils) and the shared libpython, which PyInstaller needs to build the bundle (`make dist`, and the bundle
# test of `make test`).
TEST_APT_PACKAGES := chromium binutils libpython3.11
ifneq ($(filter test system pytest,$(or $(MAKECMDGOALS),run)),)
APT_PACKAGES += $(TEST_APT_PACKAGES)
endif
ifneq ($(filter dist,$(MAKECMDGOALS)),)
APT_PACKAGES += binutils libpython3.11
endif
export QT_QPA_PLATFORM ?= offscreen
export ESCPOS_CAPABILITIES_PICKLE_DIR ?= $(CURDIR)/.cache/escpos

# Root in a checkout owned by someone else: that owner runs every step but the system ones.
CHECKOUT_UID := $(shell stat -c %u .)
ifeq ($(shell id -u),0)
ifneq ($(CHECKOUT_UID),0)
AS_OWNER := yes
OWNER := $(shell getent passwd $(CHECKOUT_UID) | cut -d: -f1)
OWNER_HOME := $(shell getent passwd $(CHECKOUT_UID) | cut -d: -f6)
endif
endif

USER_GOALS := run test venv lint typecheck layers pytest bench dist demo-reset clean
.PHONY: $(USER_GOALS) system packages postgres give-back not-root-owned

# The root steps: Debian packages, then a PostgreSQL server with the tests' role.
system: packages postgres

packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages: "$$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "Missing Debian packages: "$$missing; \
	    echo "Run \`sudo make system\` once (it installs them), then \`make $(or $(MAKECMDGOALS),run)\` again."; exit 1; \
	  fi; \
	fi

postgres:
	@bash .ci/postgres.sh

ifeq ($(AS_OWNER),yes)

system: give-back
run: packages give-back
test: packages postgres give-back
venv lint typecheck layers pytest bench dist demo-reset clean: give-back
$(USER_GOALS):
	@echo "make: root did the system steps; '$@' runs as $(OWNER), who owns this checkout."
	@runuser -u $(OWNER) -- env HOME=$(OWNER_HOME) USER=$(OWNER) LOGNAME=$(OWNER) $(MAKE) --no-print-directory $@

# Files an earlier `sudo make` left here go back to the checkout's owner.
give-back:
	@if [ -z "$(OWNER)" ]; then \
	  echo "This checkout belongs to uid $(CHECKOUT_UID), which has no account here: run make as that user."; exit 1; fi
	@n=$$(find . -xdev -user 0 | wc -l); if [ "$$n" != 0 ]; then \
	  find . -xdev -user 0 -exec chown -h $(CHECKOUT_UID):$$(stat -c %g .) {} +; \
	  echo "make: $$n file(s) here belonged to root; they are $(OWNER)'s again."; fi

else

# An ordinary user in their checkout: files of root's here (an earlier `sudo make`) would end in a PermissionError.
not-root-owned:
	@if [ "$$(id -u)" != 0 ] && [ "$$(stat -c %u .)" = "$$(id -u)" ]; then \
	  f=$$(find . -maxdepth 2 -user 0 -print -quit); if [ -n "$$f" ]; then \
	    echo "$$f and maybe more here belong to root (left by an earlier \`sudo make\`?)."; \
	    echo "Run \`sudo make system\`: it gives them back to you."; exit 1; fi; fi

# A venv that an earlier try left half-made (no pip: python3-venv was missing, or stopped half-way) is made again;
# the stamp is written only after a complete install.
$(STAMP): pyproject.toml | not-root-owned
	@if ! $(BIN)/python -m pip --version >/dev/null 2>&1; then \
	  if [ -e $(VENV) ]; then echo "$(VENV) is incomplete (an earlier try stopped half-way): making it again."; fi; \
	  rm -rf $(VENV); \
	  if ! $(PY) -c 'import ensurepip' 2>/dev/null; then \
	    echo "$(PY) cannot make a virtualenv: the Debian package python3-venv is missing."; \
	    echo "Run \`sudo make system\` once (it installs it), then \`make $(or $(MAKECMDGOALS),run)\` again."; exit 1; fi; \
	  $(PY) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; \
	fi
	@rm -f $(STAMP)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@mkdir -p .cache/escpos && touch $(STAMP)

venv: not-root-owned $(STAMP)
	@$(BIN)/python -c '' 2>/dev/null || { rm -f $(STAMP); $(MAKE) --no-print-directory $(STAMP); }

run: packages venv
	@if [ -z "$$DISPLAY" ] && [ "$$QT_QPA_PLATFORM" = offscreen ]; then unset QT_QPA_PLATFORM; fi; \
	if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
	  echo "No screen found: starting the app under Xvfb (a virtual screen)."; \
	  QT_QPA_PLATFORM=xcb xvfb-run -a -s '-screen 0 1280x800x24' $(BIN)/counterline --data-dir $(DATA) --demo; \
	else QT_QPA_PLATFORM= $(BIN)/counterline --data-dir $(DATA) --demo; fi

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

test: packages venv postgres lint typecheck layers pytest

bench: venv
	$(BIN)/python benchmarks/run_all.py

# The till's bundle (PyInstaller, one folder: dist/counterline) and its Debian package (dist/counterline_*.deb),
# and the central store's (dist/counterline-central_*.deb, a systemd service); installer/README.md says more.
# `make dist CAMERA=0`: the till's bundle without OpenCV (about 170 MB less; no camera scanner in it).
dist: packages venv
	COUNTERLINE_BUNDLE_CAMERA=$(or $(CAMERA),1) $(BIN)/python -m PyInstaller --noconfirm --log-level WARN \
		--distpath dist --workpath build/pyinstaller installer/pyinstaller/counterline.spec
	sh installer/debian/build-deb.sh dist/counterline dist
	$(BIN)/python -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
		installer/pyinstaller/counterline-central.spec
	sh installer/central/build-central-deb.sh dist/counterline-central dist

demo-reset:
	rm -rf $(DATA)

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache var

endif
