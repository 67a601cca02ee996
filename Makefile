# Every target sets up its own virtualenv in .venv (override with VENV=...).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: test demo bench clean

$(BIN)/flexsim: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

test: $(BIN)/flexsim
	$(BIN)/python -m pytest

# A whole local simulation on the embedded emulator (no Twilio account); pass options with
# DEMO_ARGS, e.g. make demo DEMO_ARGS="--duration 30 --seed 7".
demo: $(BIN)/flexsim
	$(BIN)/flexsim demo $(DEMO_ARGS)

bench: $(BIN)/flexsim
	$(BIN)/python bench/genconfig.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
