# The commands of this project, each of which sets up its own environment first:
#   make book   build the book into _build/html (from the outputs stored in the notebooks);
#               OFFLINE=1: a site that reads without a network (MathJax and the widget manager
#               inside it, fetched with npm: book_tools/offline_book.py)
#   make test   run the tests and re-execute every notebook, verifying its stored outputs
#   make notebooks  re-execute every notebook in place, storing the outputs make test verifies
#   make exercises  write learner notebooks (solutions blanked to TODO stubs) into exercises/
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install book test notebooks exercises clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml setup.py cifar_lessons/_im2col.pyx cifar_lessons/_winograd.pyx
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

# One BLAS/OpenMP thread per process: two test processes share the cores, and the stored
# notebook outputs are computed (make notebooks) and verified with the same arithmetic, on the
# lesson subset whatever CIFAR_LESSONS_DATA the shell sets. The same arithmetic also means the
# same BLAS kernels: NumPy's OpenBLAS picks them by CPU, and its AVX-512 ones round differently
# from the AVX2 (Haswell) ones, which a few training experiments amplify into other printed
# numbers. Haswell's run on every x86-64 CPU with AVX2 (2013 on), so they are the ones pinned.
SERIAL := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell CIFAR_LESSONS_DATA=lesson

# Code kept by an earlier run of the chapters (book/yours/, see cifar_lessons/yours.py) is
# removed first: the book's runs use the code of the book as it is now.
test: $(INSTALLED)
	rm -rf book/yours
	$(SERIAL) $(BIN)/python -m pytest -n 2 --dist loadfile

# Re-execute every notebook in place, storing the outputs that `make test` verifies.
notebooks: $(INSTALLED)
	rm -rf book/yours
	for notebook in book/*.ipynb; do \
		$(SERIAL) timeout 1800 $(BIN)/jupyter execute --inplace "$$notebook" || exit 1; \
	done

exercises: $(INSTALLED)
	$(BIN)/python -m book_tools.exercises exercises book

clean:
	rm -rf _build build exercises book/yours cifar_lessons/*.so cifar_lessons/_*.c
