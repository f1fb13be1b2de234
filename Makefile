PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test demo bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	KERAS_BACKEND=jax $(PY) -m pytest -q -n 2 tests

demo: $(STAMP)
	$(PY) examples/train_digits.py

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV)
