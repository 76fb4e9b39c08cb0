PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format docs bench bench-search screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m archivesync.demo --db data/archive.db

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	@if [ -z "$$ARCHIVESYNC_CHROMIUM" ] && ! command -v chromium >/dev/null 2>&1 \
	    && ! command -v chromium-browser >/dev/null 2>&1; then \
	  echo "*** NO CHROMIUM: the browser tests (tests/test_browser.py) are SKIPPED, NOT RUN."; \
	  echo "*** Install it to run them: apt-get install chromium fonts-noto-cjk"; \
	fi
	$(BIN)/python -m pytest -q
	@echo "*** Again with the clock a year ahead: the tests that decide by date (marker 'dates')."
	ARCHIVESYNC_CLOCK_AHEAD_DAYS=365 $(BIN)/python -m pytest -q -m dates

# Browser tests only, saving screenshots into docs/screenshots/: the walk-throughs of
# test_browser.py, and every console page as test_accessibility.py checks it (pages/).
screenshots: $(STAMP)
	ARCHIVESYNC_REQUIRE_BROWSER=1 ARCHIVESYNC_SCREENSHOTS=docs/screenshots \
	  $(BIN)/python -m pytest -q tests/test_browser.py tests/test_accessibility.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# The generated docs: every command's --help, the schema reference from db/columns.toml, and the
# module map (tests/test_docs.py fails while they differ from the code).
docs: $(STAMP)
	$(BIN)/cog -r docs/cli-reference.md docs/schema.md docs/development.md

bench: $(STAMP)
	$(BIN)/python -m bench.run

# Search by meaning and hybrid: labelled-set quality, embedding speed, latency at 10k/100k.
bench-search: $(STAMP)
	$(BIN)/python -m bench.meaning

# The venv, the demo's index (and its vector file), and what a replicating daemon leaves beside
# it (Litestream's state directory, its generated config, the replication status file).
clean:
	rm -rf $(VENV) data/archive.db data/archive.db-wal data/archive.db-shm data/archive.db.meaning-vectors
	rm -rf data/.*-litestream data/*.litestream.yml data/*.replication.json
