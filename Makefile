# Two commands do everything: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DATA ?= data/demo
DEMO_CONFIG ?= configs/ssuformer_demo.py
DEMO_WORK_DIR ?= work_dirs/ssuformer_demo
PYTEST_ARGS ?=
# The suite runs in a random order (pytest-randomly; the seed is printed in
# the header). `make test SEED=1234` repeats the order and the random draws
# of that run; `make test PYTEST_ARGS="-p no:randomly"` keeps file order.
SEED ?=
# Test files are spread over JOBS worker processes (pytest-xdist, one file
# per worker at a time, so module fixtures are built once); JOBS=0 runs
# everything in one process.
JOBS ?= 2
PYTEST := $(PY) -m pytest tests -n $(JOBS) --dist loadfile \
	$(if $(SEED),--randomly-seed=$(SEED))

.PHONY: setup test test-fast demo clean

setup:
	@bash tools/setup_env.sh

test: setup
	$(PYTEST) $(PYTEST_ARGS)

test-fast: setup
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

demo: setup
	$(PY) tools/run_demo.py --data-root $(DEMO_DATA) --config $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)

clean:
	rm -rf $(DEMO_WORK_DIR) .pytest_cache
