# madgen: every target installs what it needs on first use (a virtual environment in .venv).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test build list bench parts scenes clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest

# The main job on the embedded defaults.
build: setup
	$(BIN)/madgen list

list: setup
	$(BIN)/madgen list

bench: setup
	$(BIN)/python bench/ldraw_load.py

# Regenerate the embedded parts library and the 20 scene models from their generator scripts.
parts: setup
	$(BIN)/python tools/build_ldraw_parts.py --out ldraw_parts

scenes: setup
	$(BIN)/python tools/author_scenes.py

clean:
	rm -rf $(VENV) .pytest_cache
