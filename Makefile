# travesia: two commands for a fresh machine.
#   make run   - create .venv, install, run the built-in caravan-2018 scenario end to end
#   make test  - create .venv if missing, lint (ruff) and run the whole test suite
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
OUT ?= results/caravan-2018
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test setup clean bench

$(BIN)/travesia: pyproject.toml requirements.txt
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install -q uv
	$(PY) -m uv venv -q --allow-existing -p $(PY) $(VENV)
	$(PY) -m uv pip install -q -p $(BIN)/python -r requirements.txt
	$(PY) -m uv pip install -q -p $(BIN)/python --no-deps -e .
	@touch $(BIN)/travesia

# the installed packages' bytecode (uv, unlike pip, writes none; with PYTHONDONTWRITEBYTECODE=1
# Python never writes it either, and every process - each Dask worker's too - compiles pandas,
# numba, Dask ... afresh: an ensemble's start took 7 s instead of 1.5 s on the 2-core machine)
$(VENV)/.bytecode: $(BIN)/travesia
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	@touch $@

setup: $(BIN)/travesia $(VENV)/.bytecode

run: setup
	$(BIN)/travesia run caravan-2018 --out $(OUT) --force
	@if $(BIN)/travesia --help | grep -q ' report '; then $(BIN)/travesia report $(OUT); fi
	@echo "Results are in $(OUT)/"

test: setup
	@bash scripts/ensure-chromium.sh || true
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/engine_speed.py

clean:
	rm -rf $(VENV) results
