# Two commands do everything: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DATA ?= data/demo
DEMO_CONFIG ?= configs/ssuformer_demo.py
DEMO_WORK_DIR ?= work_dirs/ssuformer_demo
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo clean

setup:
	@bash tools/setup_env.sh

test: setup
	$(PY) -m pytest tests $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

demo: setup
	$(PY) tools/run_demo.py --data-root $(DEMO_DATA) --config $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)

clean:
	rm -rf $(DEMO_WORK_DIR) .pytest_cache
