# Two commands on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo
DEMO_ACCOUNTS ?= 3000
STAMP  := $(VENV)/.installed

.PHONY: install lock cdnow demo test test-lowest-pandas lint bench bench-cdnow clean

# The development environment installs from the lock file, so a new upstream release cannot
# break a fresh clone; the package's own ranges in pyproject.toml stay wide.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# CDNOW (the public data set inside the lifetimes wheel) through pip, as a user would fetch
# it; with it cached, the CDNOW loader and Fader-Hardie-Lee tests run instead of skipping.
cdnow: install
	$(BIN)/python -c "from kam_ml import CDNOW_SAMPLE, fetch_cdnow; fetch_cdnow(); fetch_cdnow(name=CDNOW_SAMPLE)"

# Re-resolve the lock after changing dependencies in pyproject.toml (needs the package index).
lock: install
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url \
		-o requirements-dev.lock pyproject.toml

demo: install
	$(BIN)/kam-ml demo-data --out $(DEMO)/data --accounts $(DEMO_ACCOUNTS) --seed 7
	$(BIN)/kam-ml train --data $(DEMO)/data
	$(BIN)/kam-ml score --data $(DEMO)/data --out $(DEMO)/scores.parquet
	$(BIN)/kam-ml score --data $(DEMO)/data --out $(DEMO)/scores.csv
	$(BIN)/kam-ml nightly --data $(DEMO)/data --out $(DEMO)/nightly
	@echo
	@echo "Done. Results:"
	@echo "  scores         $(DEMO)/scores.parquet  (and .csv)"
	@echo "  model report   reports/churn-*/report.html"
	@echo "  model bundle   models/kam-churn/"
	@echo "  MLflow UI      $(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db  -> http://127.0.0.1:5000"
	@echo "  risk lists     $(DEMO)/nightly/<as-of>/risk_lists/index.html  (CSV, Excel, HTML per manager)"
	@echo "  portfolio      $(DEMO)/nightly/<as-of>/portfolio/portfolio.html  (and .xlsx)"
	@echo "  scoring API    KAM_API_KEYS=change-me $(BIN)/kam-ml serve --nightly-dir $(DEMO)/nightly"
	@echo "                 -> http://127.0.0.1:8000/docs  and  /risk-lists?key=change-me"

test: install
	$(BIN)/pytest

# The lowest supported pandas (the floor in pyproject.toml; Databricks runtimes ship pandas < 3):
# a second venv from the same lock with only pandas swapped, then the tests that exercise
# pandas most. PYTHON must be a Python the lock's wheels cover (3.11).
LOWEST_PANDAS ?= 2.2.3
LOWEST_VENV   ?= .venv-lowest-pandas
LOWEST_STAMP  := $(LOWEST_VENV)/.installed-pandas-$(LOWEST_PANDAS)

$(LOWEST_STAMP): pyproject.toml requirements-dev.lock
	rm -rf $(LOWEST_VENV)
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/pip install --quiet --upgrade pip
	grep -v '^pandas==' requirements-dev.lock > $(LOWEST_VENV)/requirements.txt
	echo 'pandas==$(LOWEST_PANDAS)' >> $(LOWEST_VENV)/requirements.txt
	$(LOWEST_VENV)/bin/pip install --quiet -r $(LOWEST_VENV)/requirements.txt
	$(LOWEST_VENV)/bin/pip install --quiet --no-deps -e .
	$(LOWEST_VENV)/bin/python -c "import pandas; assert pandas.__version__ == '$(LOWEST_PANDAS)', pandas.__version__"
	touch $(LOWEST_STAMP)

test-lowest-pandas: $(LOWEST_STAMP)
	$(LOWEST_VENV)/bin/pytest tests/code tests/data tests/properties

lint: install
	$(BIN)/ruff check kam_ml serving tests bench
	$(BIN)/ruff format --check kam_ml serving tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/bench_features.py

# The CDNOW real-data benchmark through the train/score path (downloads the lifetimes wheel
# with pip on first use; ~3 min)
bench-cdnow: install
	$(BIN)/python bench/bench_cdnow.py --fetch

clean:
	rm -rf $(DEMO) reports mlflow.db mlartifacts mlruns models/kam-*
