# The two commands of the README. Both create .venv and install requirements.txt when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hpnb-installed
LAPJV := lapjv==1.3.29
# One thread per pytest worker by default: two workers on two cores, no oversubscription.
# `OMP_NUM_THREADS=2 make test` runs the same tests with two threads per worker.
OMP_NUM_THREADS ?= 1
TEST_ENV := OMP_NUM_THREADS=$(OMP_NUM_THREADS) MKL_NUM_THREADS=$(OMP_NUM_THREADS)

.PHONY: book test clean gpu-check

# LAPJV speeds DL2PA's re-assignment 2-3x (benchmarks/README.md (b)); it ships as source only, so a
# machine without a C++ compiler keeps scipy's solver instead of failing the set-up.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q $(LAPJV) || echo "lapjv did not install: hpnb.assignment falls back to scipy"
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

book: $(STAMP)
	$(PY) -m hpnb.book

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadfile --nbval-lax -q tests book

# One call on a CUDA machine (CIFAR-10 JPEG zips in DATA): every preset, bf16 vs fp32, benchmark (a),
# each paper backbone timed; writes benchmarks/results/gpu_check-cuda.json.
DATA ?= ../shared/data
gpu-check: $(STAMP)
	$(PY) benchmarks/gpu_check.py --data $(DATA)

clean:
	rm -rf _build
