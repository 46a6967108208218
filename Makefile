# The two commands of this project, each of which sets up its own environment first:
#   make book   build the book into _build/html (from the outputs stored in the notebooks)
#   make test   run the tests and re-execute every notebook, verifying its stored outputs
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install book test clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml setup.py cifar_lessons/_im2col.pyx
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e .
	touch $@

book: $(INSTALLED)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

test: $(INSTALLED)
	$(BIN)/python -m pytest

clean:
	rm -rf _build build cifar_lessons/*.so cifar_lessons/_im2col.c
