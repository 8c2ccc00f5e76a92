# AIAS — make help lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO            ?= go
GOLANGCI      ?= $(CURDIR)/.bin/golangci-lint
GOLANGCI_VER  := v2.15.0
PKGS          := ./...

# Development settings for `make run`: the local services, the aias login
# role (non-superuser) for the programs, the postgres superuser as schema owner.
# The demo workflow's http step calls the ingress on 127.0.0.1:8080; the
# egress allow-list opens that port of 127.0.0.1 and no other (not Postgres,
# Redis or the ops listener). The key is published, so AIAS_ENV=production
# would refuse it. `aias dev` opens signup and makes a dashboard token.
DEV_ENV := AIAS_ENV=dev \
	DATABASE_URL=postgres://aias:aias@127.0.0.1:5432/aias?sslmode=disable \
	AIAS_MIGRATE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/aias?sslmode=disable \
	REDIS_URL=redis://127.0.0.1:6379/0 \
	AIAS_EGRESS_ALLOW=127.0.0.1/32 AIAS_EGRESS_ALLOW_PORTS=8080 \
	AIAS_ENCRYPTION_KEYS=dev1:ZGV2LW9ubHkta2V5LW5ldmVyLXVzZS1pbi1wcm9kISE= \
	AIAS_HTTP_ADDR=127.0.0.1:8080 AIAS_PUBLIC_URL=http://127.0.0.1:8080 \
	AIAS_METRICS_ADDR=127.0.0.1:9091 \
	AIAS_LOG_FORMAT=$${AIAS_LOG_FORMAT:-pretty}

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: services
services: ## start (installing if needed) the local PostgreSQL and Redis
	@bash scripts/services.sh

.PHONY: run
run: services build ## start AIAS on the local services with a demo tenant, print the console's URL and demo login, curl lines and the dashboard's login
	@bash scripts/dev-db.sh
	@$(DEV_ENV) ./bin/aias dev

.PHONY: migrate
migrate: services build ## apply migrations to the development database
	@bash scripts/dev-db.sh
	@$(DEV_ENV) ./bin/aias migrate

.PHONY: build
build: ## build the four binaries into ./bin
	@mkdir -p bin
	$(GO) build -o bin/aias ./cmd/aias
	$(GO) build -o bin/aias-ingress ./cmd/ingress
	$(GO) build -o bin/aias-worker ./cmd/worker
	$(GO) build -o bin/aias-scheduler ./cmd/scheduler

.PHONY: browser
browser: ## install (if missing) Debian's Chromium for the console's browser tests
	@bash scripts/browser.sh

.PHONY: test
test: services browser ## run every test against the real PostgreSQL, Redis and Chromium, then a short fuzz of untrusted-input parsers
	$(GO) test -count=1 -timeout 15m $(PKGS)
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$${FUZZ_SMOKE_TIME:-20000x} FUZZ_PKGS="$(FUZZ_SMOKE_PKGS)"

.PHONY: test-race
test-race: services browser ## the tests with the race detector
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Every parser of untrusted input: signature headers, bodies, workflow
# definitions, expressions and templates, the egress classifier, cursors,
# API keys, plan files and the ciphertext envelope. Each target gets
# FUZZ_SMOKE_TIME inputs in make test (a few seconds each).
FUZZ_SMOKE_PKGS := ./internal/signature ./internal/run ./internal/workflow ./internal/step ./internal/safehttp \
	./internal/page ./internal/auth ./internal/plan ./internal/keyring

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 30s); FUZZ_PKGS narrows the packages
	@for pkg in $$($(GO) list $${FUZZ_PKGS:-./...}); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} $$pkg || exit 1; \
	  done; \
	done

.PHONY: chaos
chaos: services build ## the fault-injection suite (about 15 minutes): one row per scenario, table into docs/reliability.md
	./bin/aias chaos -bin bin -doc docs/reliability.md

.PHONY: bench
bench: services build ## aias bench: AIAS against this machine's floor, ~100 s (table on stdout, figures in bench.json)
	./bin/aias bench -json $${BENCH_JSON:-bench.json}

.PHONY: bench-micro
bench-micro: services ## micro-benchmarks of the hot paths with allocations
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

.PHONY: lint
lint: $(GOLANGCI) ## gofmt, go vet and golangci-lint
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)
	$(GOLANGCI) run $(PKGS)

$(GOLANGCI):
	GOBIN=$(CURDIR)/.bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VER)

.PHONY: check
check: lint test ## what CI runs, plus the linter
