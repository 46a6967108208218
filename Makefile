# The commands of this project, each of which sets up its own environment first:
#   make book   build the book into _build/html (from the outputs stored in the notebooks);
#               OFFLINE=1: a site that reads without a network (MathJax and the widget manager
#               inside it, fetched with npm: book_tools/offline_book.py)
#   make test   run the tests and re-execute every notebook, verifying its stored outputs
#   make check  the unit tests alone (a minute or two): the inner loop
#   make test-foreign  the notebooks under another arithmetic, compared in the tolerant mode
#   make test-learner  whole chapters run from learner copies filled with correct code that rounds
#               differently from the book's: every assertion of the book must hold for it
#   make notebooks  re-execute every notebook in place, storing the outputs make test verifies
#   make exercises  write learner notebooks (solutions blanked to TODO stubs) into exercises/
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install book test test-foreign test-learner check notebooks exercises clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml setup.py cifar_lessons/from_scratch/_im2col.pyx cifar_lessons/from_scratch/_winograd.pyx
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# OFFLINE=1 (or yes/true): the pages load their scripts from copies inside the site, fetched with
# npm into _build/offline from the releases _config.yml pins, instead of from a CDN.
OFFLINE ?=
OFFLINE_DIR := _build/offline
BOOK_CONFIG := $(if $(filter 1 yes true,$(OFFLINE)),$(OFFLINE_DIR)/_config.yml,_config.yml)

book: $(INSTALLED)
ifneq ($(BOOK_CONFIG),_config.yml)
	$(BIN)/python -m book_tools.offline_book $(OFFLINE_DIR)
endif
	$(BIN)/jupyter-book build . --config $(BOOK_CONFIG) --warningiserror --nitpick --keep-going

# The stored notebook outputs are computed (make notebooks) and verified (make test) under one
# arithmetic: one thread per library and, on x86-64, every library's AVX2 kernels, whatever the CPU
# (book_tools/arithmetic.py says which settings, and why), on the lesson subset whatever
# CIFAR_LESSONS_DATA the shell sets. make notebooks stores the arithmetic's fingerprint in each
# notebook; make test compares the outputs exactly where this machine's fingerprint matches, and
# says so at the top and the bottom of its output.
PINNED := env CIFAR_LESSONS_DATA=lesson $(BIN)/python -m book_tools.arithmetic exec --
NOTEBOOKS ?= $(wildcard book/*.ipynb)

# Code kept by an earlier run of the chapters (book/yours/, see cifar_lessons/course/yours.py) is
# removed first: the book's runs use the code of the book as it is now.
test: $(INSTALLED)
	rm -rf book/yours
	$(PINNED) $(BIN)/python -m pytest -n 2 --dist loadfile -rs -m "not learner_run"

# A learner's correct code rounds differently from the book's, and the book's assertions must hold
# for it: chapters 03 to 06 and 08 run whole from learner copies filled with such code (each test
# says how its code differs). Too slow for make test: about 15 minutes on 2 cores.
test-learner: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 -rs -m learner_run tests

# The tolerant mode tried on the whole book (x86-64): every notebook re-executed and compared under
# another arithmetic. A cell that fails there prints numbers that depend on rounding without the
# tag rounding, or states a result that another rounding overturns. Its SSE kernels are slow: about
# half an hour on 2 cores (chapter 07 alone about 22 minutes).
test-foreign: $(INSTALLED)
	rm -rf book/yours
	env CIFAR_LESSONS_DATA=lesson $(BIN)/python -m book_tools.arithmetic exec --foreign -- \
		$(BIN)/python -m pytest -n 2 --dist loadfile -rs --nbval-cell-timeout=3600 book

# The unit tests alone: no notebook, browser, hub or other integration test.
check: $(INSTALLED)
	$(PINNED) $(BIN)/python -m pytest -n 2 -rs -m "not integration" tests

# Re-execute notebooks in place (all of book/, or NOTEBOOKS="book/03_batch_norm.ipynb ..."), two
# at a time, storing the outputs and the arithmetic that make test verifies. The challenge's
# leaderboard and the Results page read what the chapters recorded in their stored outputs, so
# they run last, one after the other.
READERS := book/08_challenge.ipynb book/results.ipynb
notebooks: $(INSTALLED)
	rm -rf book/yours
	printf '%s\n' $(filter-out $(READERS),$(NOTEBOOKS)) | xargs -r -P 2 -I NOTEBOOK \
		$(PINNED) timeout 1800 $(BIN)/jupyter execute --inplace NOTEBOOK
	for notebook in $(filter $(READERS),$(NOTEBOOKS)); do \
		$(PINNED) timeout 1800 $(BIN)/jupyter execute --inplace "$$notebook" || exit 1; \
	done
	$(PINNED) $(BIN)/python -m book_tools.arithmetic stamp $(NOTEBOOKS)

exercises: $(INSTALLED)
	$(BIN)/python -m book_tools.exercises exercises book

clean:
	rm -rf _build build exercises book/yours cifar_lessons/from_scratch/*.so cifar_lessons/from_scratch/_*.c
