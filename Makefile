PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test test-heavy demo bench clean graphviz

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP) graphviz
	KERAS_BACKEND=jax $(PY) -m pytest -q -n 2 -m "not heavy" tests

# The largest application builds (their families' smaller members run in `make test`).
test-heavy: $(STAMP)
	KERAS_BACKEND=jax $(PY) -m pytest -q -n 2 -m heavy tests

# Graphviz's `dot` program, which `plot_model` and its tests need (pydot comes from pip).
graphviz:
	@if command -v dot >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null \
		|| { echo "make graphviz: 'apt-get install graphviz' failed" >&2; exit 1; }; \
	else \
		echo "make graphviz: Graphviz's 'dot' is missing and apt-get is unavailable;" \
			"install graphviz (https://graphviz.org/download/)" >&2; exit 1; \
	fi

demo: $(STAMP)
	$(PY) examples/train_digits.py

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV)
