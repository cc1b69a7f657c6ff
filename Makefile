# Two commands do all set-up on a fresh clone:
#   make book   create .venv, install everything, execute every notebook, build _build/html
#   make test   unit tests, per-seed claim tests, nbval on every notebook, the sync check,
#               a warnings-as-errors book build, the chapter handouts (PDF), the browser walk
#               and the Colab-like install check
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(shell find chapters -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort)
STUDENT   := $(shell find student -name '*.ipynb' 2>/dev/null | sort)

.PHONY: help venv book test unit sweep nbval nbval-student nbval-student-all check-sync build site-test chromium poppler handouts colab-check sync times student clean clean-all

help:
	@echo "make book        build the site into _build/html (creates .venv on first use)"
	@echo "make test        run every check CI runs"
	@echo "make sync        re-stamp Colab links/install cells from _config.yml, regenerate .ipynb and student copies"
	@echo "make student     write the student copies (solutions removed) into student/"
	@echo "make handouts    print each chapter as a student and an instructor PDF (after a build)"
	@echo "make colab-check the install cell in a Colab-like environment changes no preinstalled package"
	@echo "make times       after make nbval: keep its notebook times for the notebooks' runtime line"
	@echo "make clean       remove _build (and .venv with 'make clean-all')"

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

NBCACHE := _build/.jupyter_cache
# Every claim evaluation (notebooks and claim tests) writes its values here; the scorecard
# page and the chapter indexes are built from them (tools/scorecard.py).
export BIASLAB_CLAIMS_DIR := $(CURDIR)/_build/claims

book: venv
	rm -rf _build/html _build/.doctrees _build/jupyter_execute $(NBCACHE) $(BIASLAB_CLAIMS_DIR)
	$(BIN)/jupyter-book build .
	@echo "open _build/html/index.html"

# Two test processes at once, one thread each, on CI's two cores.
# (--dist loadgroup: the claims of one section run in one process and share its runner's results)
unit: venv
	rm -rf $(BIASLAB_CLAIMS_DIR)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -n 2 --dist loadgroup -q -p no:cacheprovider

# Every claim and control with seeds 0-9 (about an hour on 2 cores); records the per-claim
# ranges in chapters/appendix/claim_sweeps.json, which the scorecard shows. Commit that file.
sweep: venv
	rm -rf _build/sweep
	BIASLAB_CLAIMS_DIR=$(CURDIR)/_build/sweep BIASLAB_CLAIM_SEEDS=0,1,2,3,4,5,6,7,8,9 OMP_NUM_THREADS=1 \
	  $(BIN)/python -m pytest tests/test_claims.py -n 2 --dist loadgroup -q -p no:cacheprovider; \
	  status=$$?; $(BIN)/python tools/record_sweep.py _build/sweep; exit $$status

# nbval stores each passing notebook with its outputs in the book's execution cache, so that
# the build right after it does not execute the notebooks a second time (see conftest.py).
# Two notebooks at a time, one thread each, on CI's two cores: a notebook's recorded time is
# then an upper bound on its time alone on two cores.
nbval: venv
	rm -rf $(NBCACHE)
	$(BIN)/python -c "from jupyter_cache import get_cache; get_cache('$(NBCACHE)').list_cache_records()"
	BIASLAB_NB_CACHE=$(NBCACHE) OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax --nbval-cell-timeout=300 -q -p no:cacheprovider $(NOTEBOOKS)

# Student copies: only those whose code cells differ from their full notebook (the others run
# exactly as the full notebook does, which nbval runs; tests/test_book.py proves the identity).
# Two notebooks at a time, one thread each (their timing is not recorded).
nbval-student: venv
	@files="$$($(BIN)/python tools/make_student.py --differing)"; \
	if [ -n "$$files" ]; then \
	  echo "student copies whose code differs from their notebook: $$files"; \
	  OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax --nbval-cell-timeout=300 -q -p no:cacheprovider $$files; \
	else echo "no student copy differs from its notebook"; fi

nbval-student-all: venv
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax --nbval-cell-timeout=300 -q -p no:cacheprovider $(STUDENT)

check-sync: venv
	$(BIN)/python tools/sync_notebooks.py --check
	$(BIN)/python tools/make_student.py --check

build: venv
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	$(BIN)/jupyter-book build . -W -n --keep-going

# Debian's chromium for the browser test (no browser download); needs root or an existing install.
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# Debian's poppler-utils (pdftotext, pdfinfo), with which the handout test reads the PDFs.
poppler:
	@command -v pdftotext >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null)

# One student and one instructor PDF per chapter, printed from the built site by headless
# Chromium into _build/handouts/ and copied into _build/html/handouts/ (the instructor guide
# links them there).
handouts: venv chromium
	$(BIN)/python tools/handouts.py

site-test: venv chromium poppler handouts
	$(BIN)/python -m pytest site_tests -q -p no:cacheprovider

# A fresh venv with Colab's scientific stack (tests/colab_constraints.txt); the install cell,
# pointed at this working tree, must change none of it; then one notebook runs there.
colab-check: venv
	OMP_NUM_THREADS=1 $(BIN)/python tools/colab_check.py

test: unit check-sync colab-check nbval-student nbval build site-test
	@echo "make test: all checks passed"

sync: venv
	$(BIN)/python tools/sync_notebooks.py
	$(BIN)/python tools/make_student.py

# After `make nbval`: keep the notebook times it measured (each notebook states its run time).
times: venv
	$(BIN)/python tools/sync_notebooks.py --record-times _build/notebook_times.json
	$(BIN)/python tools/make_student.py

student: sync

clean:
	rm -rf _build

clean-all: clean
	rm -rf $(VENV)
