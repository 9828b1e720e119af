# madgen: every target installs what it needs on first use (a virtual environment in .venv).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test build dataset-ci golden list bench parts scenes docs docs-real clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest

# The main job on the embedded defaults: the MAD-Sim Gorilla category (216 training views, 90 good
# and 3 x 80 anomalous test images with masks, manifest.json) into ./MAD-Sim, then its checks.
# Resumable: run it again after an interruption. CATEGORY=all (or a list) builds more.
CATEGORY ?= Gorilla
build: setup
	$(BIN)/madgen build --category $(CATEGORY) --out MAD-Sim
	$(BIN)/madgen validate MAD-Sim
	$(BIN)/madgen verify MAD-Sim

# CI regeneration: a reduced dataset (profile ci, 2 categories) checked against tests/golden/.
dataset-ci: setup
	$(BIN)/python -m pytest -q tests/test_dataset_ci.py

# After a deliberate change to what madgen renders: rewrite the golden hashes (then commit them).
golden: setup
	MADGEN_UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q -rs tests/test_dataset_ci.py

list: setup
	$(BIN)/madgen list

bench: setup
	$(BIN)/python bench/ldraw_load.py
	$(BIN)/python bench/render.py --views 24
	$(BIN)/python bench/render.py --views 12 --profile standard,mad-real
	$(BIN)/python bench/defects.py --category Gorilla --views 8
	$(BIN)/python bench/defects.py --category Bird --views 8
	$(BIN)/python bench/build.py
	$(BIN)/python bench/import.py

# Regenerate the embedded parts library and the 20 scene models from their generator scripts.
parts: setup
	$(BIN)/python tools/build_ldraw_parts.py --out ldraw_parts

scenes: setup
	$(BIN)/python tools/author_scenes.py

docs: setup
	$(BIN)/python tools/contact_sheet.py --out docs --profile standard --size 200
	$(BIN)/python tools/real_vs_standard.py --out docs/real_vs_standard.png

# Only the mad-real picture (Sheep and Bird, standard vs mad-real, good and defective; about 2 minutes).
docs-real: setup
	$(BIN)/python tools/real_vs_standard.py --out docs/real_vs_standard.png

clean:
	rm -rf $(VENV) .pytest_cache
