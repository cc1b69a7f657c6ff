# Two commands do all set-up on a fresh clone:
#   make book   create .venv, install everything, execute every notebook, build _build/html
#   make test   unit tests, per-seed claim tests, nbval on every notebook, the jupytext sync
#               check and a warnings-as-errors book build
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(shell find chapters -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort)

.PHONY: help venv book test unit nbval check-sync build sync clean

help:
	@echo "make book        build the site into _build/html (creates .venv on first use)"
	@echo "make test        run every check CI runs"
	@echo "make sync        re-stamp Colab links/install cells from _config.yml and regenerate .ipynb files"
	@echo "make clean       remove _build (and .venv with 'make clean-all')"

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

book: venv
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	$(BIN)/jupyter-book build .
	@echo "open _build/html/index.html"

unit: venv
	$(BIN)/python -m pytest tests -n 2 -q -p no:cacheprovider

nbval: venv
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=300 -q -p no:cacheprovider $(NOTEBOOKS)

check-sync: venv
	$(BIN)/python tools/sync_notebooks.py --check

build: venv
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	$(BIN)/jupyter-book build . -W -n --keep-going

test: unit check-sync nbval build
	@echo "make test: all checks passed"

sync: venv
	$(BIN)/python tools/sync_notebooks.py

clean:
	rm -rf _build

clean-all: clean
	rm -rf $(VENV)
