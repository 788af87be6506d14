# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DEMO_DIR ?= runs/demo

.PHONY: demo test test-slow lint bench leaderboard clean

# torch is pinned and installed first: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev,baselines,box2d,ray]"
	touch $@

demo: $(VENV)/.installed
	SDL_VIDEODRIVER=dummy $(PY) -m train run --config dnms-demo --out $(DEMO_DIR) --force
	SDL_VIDEODRIVER=dummy $(PY) -m train plot $(DEMO_DIR)

test: $(VENV)/.installed
	$(VENV)/bin/ruff check envs agents train tests benchmarks
	SDL_VIDEODRIVER=dummy $(VENV)/bin/pytest -q -n auto

test-slow: $(VENV)/.installed
	SDL_VIDEODRIVER=dummy $(VENV)/bin/pytest -q -m slow

# Every task x every agent that can run it, beside stable-baselines3 (train/leaderboard.yaml; ~50-75 min on one core):
# the tables go to docs/leaderboard.md and the README.
leaderboard: $(VENV)/.installed
	SDL_VIDEODRIVER=dummy $(PY) -m train leaderboard --out runs/leaderboard --markdown docs/leaderboard.md --readme README.md

bench: $(VENV)/.installed
	$(PY) benchmarks/dnms_speed.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
