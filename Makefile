# The two commands of the README: `make run` and `make test`. Each sets up what it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test browser postgres

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch first (it lies on this machine's disk); a bare `torch` would pull CUDA.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# Debian's Chromium for the browser tests; never `playwright install` (it downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# Debian's PostgreSQL for the learner-records tests (they start a throwaway cluster with initdb/pg_ctl).
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)

run: setup
	$(VENV)/bin/tutor serve

test: setup browser postgres
	$(PY) -m pytest $(PYTEST_ARGS)
	# The eval gate: exits 2 naming each metric under evals/thresholds.json (report in evals/runs/latest).
	# Pinned offline (model and embeddings): a .env with TUTOR_MODEL=openai must not make CI networked.
	TUTOR_EMBEDDING_BACKEND=local $(VENV)/bin/tutor eval --check --all --model offline
