# The two commands in the README: `make demo` and `make test`. Both set up what they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.jpf-installed
OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.jpf-installed

.PHONY: demo test lint js-check js-test c-compiler chromium tmux screenshot benchmarks oldest stress

# Python environment and the package, installed editable; installing runs the js/ build and
# compiles jpf_widget/_wire.c and _trace.c (hatch_build.py).
$(STAMP): pyproject.toml hatch_build.py jpf_widget/_wire.c jpf_widget/_trace.c js/package.json js/package-lock.json | c-compiler
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The oldest environment a Monitor is tested in (tests/test_oldest_kernel.py): the lower bound of
# each dependency and the oldest supported ipykernel, pinned in env/oldest.txt, and the package
# installed editable (its bundle is the one the main install built).
$(OLDEST_STAMP): pyproject.toml env/oldest.txt | $(STAMP)
	rm -rf $(OLDEST)
	python3 -m venv $(OLDEST)
	HATCH_JUPYTER_BUILDER_SKIP_NPM=1 $(OLDEST)/bin/pip install --quiet --disable-pip-version-check \
		--constraint env/oldest.txt -e . ipykernel
	touch $(OLDEST_STAMP)

oldest: $(OLDEST_STAMP)

# The bundle is rebuilt on every run: esbuild takes well under a second.
jpf_widget/static/widget.js: $(STAMP) $(shell find js/src -name "*.ts" -o -name "*.css") js/build.mjs
	cd js && npm run --silent build

# What compiling jpf_widget/_wire.c needs: a C compiler, Python's and OpenSSL's headers.
c-compiler:
	@{ command -v cc >/dev/null && test -f /usr/include/openssl/hmac.h \
		&& test -f "$$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h"; } \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libssl-dev python3-dev >/dev/null; }

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The terminal `jpf tail` is tested in (tests/test_cli.py)
tmux:
	@command -v tmux >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; }

demo: jpf_widget/static/widget.js
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --allow-root --no-browser \
		--ServerApp.root_dir=notebooks --LabApp.default_url=/lab/tree/demo.ipynb

lint: $(STAMP)
	$(VENV)/bin/ruff check jpf_widget tests benchmarks hatch_build.py
	$(VENV)/bin/ruff format --check jpf_widget tests benchmarks hatch_build.py
	$(VENV)/bin/mypy

js-check: $(STAMP)
	cd js && npm run --silent check

js-test: $(STAMP)
	cd js && npm test --silent

test: jpf_widget/static/widget.js chromium tmux lint js-check js-test oldest
	$(PY) -m pytest

# The test suite (vitest, then pytest) while two busy loops occupy both cores: flakes that only
# show when the machine is busy show here. Not part of `make test`.
stress: jpf_widget/static/widget.js chromium tmux oldest
	env/busy-loops bash -c 'cd js && npm test --silent && cd .. && $(PY) -m pytest'

# Regenerates the README's picture from the JupyterLab scenario of the end-to-end tests.
screenshot: jpf_widget/static/widget.js chromium
	JPF_SCREENSHOTS=.artifacts/screenshots $(PY) -m pytest tests/e2e/test_jupyterlab.py -k test_monitor_in_jupyterlab
	cp .artifacts/screenshots/jupyterlab-2-rendered.png notebooks/screenshot.png

benchmarks: jpf_widget/static/widget.js chromium
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) -m benchmarks
