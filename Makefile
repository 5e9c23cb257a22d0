# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck imports compose crds bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python >= 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pushsecret demo

test: $(STAMP) lint typecheck imports crds compose
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy pushsecret workflows activities worker starter emulators

imports: $(STAMP)
	$(VENV)/bin/lint-imports

crds: $(STAMP)
	$(PY) -m pushsecret.api.crdgen --check

compose:
	PYTHON=$(PY) bash scripts/check-compose.sh

bench: $(STAMP)
	$(PY) -m bench.latency

clean:
	rm -rf $(VENV) .pushsecret-demo .mypy_cache .ruff_cache .pytest_cache
