# releasemgr — the two front-door commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/releasemgr
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run serve smoke test test-fast fuzz faults lint audit backup restore bench bench-small bench-reminders

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	./scripts/run-dev.sh

# The production-like stack without Docker: gunicorn, Celery worker and beat, on the
# local PostgreSQL and Redis, DEBUG off (see README, "Running in production").
serve: install
	./scripts/serve.sh

# Starts that stack on a free port against throwaway databases and drives it over HTTP.
smoke: install
	./scripts/smoke.sh

# Every test on PostgreSQL and Redis; then hostile input once more on SQLite (what `make
# run` uses), where the database itself refuses other things than PostgreSQL does. Both
# in TEST_WORKERS processes (pytest-xdist; each has its own test database and Redis
# database); TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 2
test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-fuzz.sqlite3 CELERY_BROKER_URL=memory:// \
	HYPOTHESIS_PROFILE=ci \
	$(BIN)/pytest -n $(TEST_WORKERS) tests/security/test_fuzz.py tests/security/test_huge_ids.py \
	    -p no:cacheprovider -q

# Hostile input, many times over (README, "Tests"): the property-based tests with fresh
# random cases (HYPOTHESIS_PROFILE=fuzz, FUZZ_EXAMPLES per target, 130 by default) on
# PostgreSQL, then on SQLite; prints the cases tried on each and fails under FUZZ_MIN in all.
FUZZ_MIN ?= 10000
fuzz: install
	rm -f $(CURDIR)/var/fuzz-postgresql.json $(CURDIR)/var/fuzz-sqlite.json
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	HYPOTHESIS_PROFILE=fuzz HARDENING_NUMBERS=$(CURDIR)/var/fuzz-postgresql.json \
	$(BIN)/pytest tests/security/test_fuzz.py -p no:cacheprovider -q $(PYTEST_ARGS)
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-fuzz.sqlite3 CELERY_BROKER_URL=memory:// \
	HYPOTHESIS_PROFILE=fuzz HARDENING_NUMBERS=$(CURDIR)/var/fuzz-sqlite.json \
	$(BIN)/pytest tests/security/test_fuzz.py -p no:cacheprovider -q $(PYTEST_ARGS)
	$(BIN)/python tests/security/fuzz_counts.py --min $(FUZZ_MIN) \
	    $(CURDIR)/var/fuzz-postgresql.json $(CURDIR)/var/fuzz-sqlite.json

# The fast loop while working (README, "Tests"): everything but the slow tests (fuzzing,
# the access matrix, the escaping crawl, schemathesis, races, a real worker, subprocesses)
# and the browser tests, on SQLite in memory, two processes (pytest-xdist); under a minute.
test-fast: install
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-fast.sqlite3 \
	CELERY_BROKER_URL=memory:// \
	$(BIN)/pytest -m "not slow and not browser" -n 2 -p no:cacheprovider -q $(PYTEST_ARGS)

# Workers killed in the scan and in the dispatch, counted at an SMTP server, at full size
# (README, "Tests"); `make test` runs the same test with 60 trains due.
faults: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	FAULTS_TRAINS=$${FAULTS_TRAINS:-400} \
	$(BIN)/pytest tests/trains/notifications/test_kills.py -p no:cacheprovider -q -s $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Backups of the database named by DATABASE_URL (README, "Backups"):
#   make backup [FILE=path]   pg_dump (PostgreSQL) or a copy (SQLite), var/backups/ by default
#   make restore FILE=path    replaces the data (asks first); stop web and worker before
backup: install
	$(BIN)/python manage.py backup $(if $(FILE),--output "$(FILE)",)

restore: install
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/releasemgr-....dump"; exit 2; }
	$(BIN)/python manage.py restore "$(FILE)"

# Supply chain: bandit on our code, pip-audit on the installed packages (scripts/audit.sh).
audit: install
	BIN=$(BIN) ./scripts/audit.sh

# Benchmarks (bench/RESULTS.md): pages on releasemgr_bench_pages, the reminder scan on
# releasemgr_bench_reminders (both dropped and rebuilt; BENCH_DATABASE_URL and
# BENCH_REMINDERS_DATABASE_URL name others). `bench-small` is CI's quick run: a tiny
# dataset, written to var/bench; it never asserts a time.
bench: install
	$(BIN)/python -m bench.run --scale full

bench-small: install
	$(BIN)/python -m bench.run --scale small --requests 5 --load-seconds 1 \
		--capacity-seconds 2 --growth-requests 3 --out var/bench

# The reminder scan alone: the 100k/1M x 1 %/10 % matrix, or BENCH_PHASES phases with
# BENCH_DUE due (e.g. BENCH_PHASES=1000000 BENCH_DUE=0.01 make bench-reminders).
bench-reminders: install
	$(BIN)/python bench/reminder_scan.py $${BENCH_PHASES:+--phases $$BENCH_PHASES --due $${BENCH_DUE:-0.01}}
