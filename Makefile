# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv when it is
# missing (or when pyproject.toml changed) and are safe to run again.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint docs bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/cart-registry --project-dir . run sample_exports

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/cart-registry --project-dir . schema --format markdown > docs/data-dictionary.md
	$(BIN)/cart-registry --project-dir . endpoints --views-doc > docs/endpoints.md

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf registry .pytest_cache .mypy_cache .ruff_cache
