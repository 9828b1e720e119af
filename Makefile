# madgen: every target installs what it needs on first use (a virtual environment in .venv).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test build list bench parts scenes docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest

# The main job on the embedded defaults: until `madgen build` (the whole dataset) lands, this
# renders the 216 training views of 01Gorilla with transforms.json into MAD-Sim/01Gorilla.
build: setup
	$(BIN)/madgen render --category 01Gorilla --profile standard --out MAD-Sim/01Gorilla

list: setup
	$(BIN)/madgen list

bench: setup
	$(BIN)/python bench/ldraw_load.py
	$(BIN)/python bench/render.py --views 24
	$(BIN)/python bench/defects.py --category Bird --views 6

# Regenerate the embedded parts library and the 20 scene models from their generator scripts.
parts: setup
	$(BIN)/python tools/build_ldraw_parts.py --out ldraw_parts

scenes: setup
	$(BIN)/python tools/author_scenes.py

docs: setup
	$(BIN)/python tools/contact_sheet.py --out docs --profile standard --size 200

clean:
	rm -rf $(VENV) .pytest_cache
