# Quick start: `make demo` and `make test`. Each creates .venv itself on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo web test install lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'   # the versions the tests ran with
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/nianbao demo

# The dashboard on the demo's data (runs the demo first if needed); prints a demo account.
web: $(STAMP)
	$(BIN)/nianbao web --demo

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

clean:
	rm -rf var/demo .pytest_cache
