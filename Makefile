# Two commands on a fresh Debian/Ubuntu machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8501
BIN    := $(VENV)/bin

.PHONY: run test test-fast bench clean

# A failed install dates the target back to 1970: the next `make` installs again, and a venv that
# worked before keeps its activate script.
$(BIN)/activate: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null || { \
	  echo "genre needs Python 3.11-3.13; $(PYTHON) is $$($(PYTHON) --version 2>/dev/null || echo 'not found'). Give one: make PYTHON=python3.12"; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "Python's venv is missing: sudo apt-get install python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	{ $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -r requirements.txt \
	  && $(BIN)/pip install --quiet --no-deps -e . ; } || { touch -d @0 $@; exit 1; }  # -e: the `genre` command
	touch $@

$(VENV)/.dev: $(BIN)/activate requirements-dev.txt requirements-scale.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(BIN)/activate
	$(BIN)/python -m genre doctor
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.dev
	$(BIN)/python -m pytest -q

test-fast: $(VENV)/.dev  # the unit tests: about two minutes on 2 cores
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(VENV)/.dev
	$(BIN)/python -m bench.latency

clean:
	rm -rf $(VENV) .pytest_cache
