# Two commands a new user needs: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/ld-segment: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

demo: $(BIN)/ld-segment  ## map the bundled sample export with Segment's presets; sends nothing
	$(BIN)/ld-segment dry-run sample_events/

test: $(BIN)/ld-segment  ## the whole test suite, plus lint
	$(BIN)/ruff check ld_segment_cli tests bench
	$(BIN)/python -m pytest

bench: $(BIN)/ld-segment  ## speed against jq and a hand-written loop (not part of the tests)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache bench/data
