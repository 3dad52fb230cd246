# Lockstream build, test and demo targets. `make help` lists them.

GO          ?= go
BIN         := bin/lockstream
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# The whole suite must fit CI: 2 cores and 90 minutes for .ci/run, with the
# race detector on. The timeout stops a hung test long before that.
TEST_TIMEOUT ?= 30m
# Each fuzz target runs this long in `make fuzz`.
FUZZ_TIME   ?= 20s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.DEFAULT_GOAL := help
.PHONY: help build run test fuzz bench lint tidy-check clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/lockstream with the version from git describe
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lockstream

run: build ## serve testdata/media on 127.0.0.1:8080, publish the sample and print its URLs
	./scripts/run-demo.sh

test: ## run every test with the race detector
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

fuzz: ## run each Fuzz target for FUZZ_TIME (default 20s)
	@set -e; for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | cut -c6-); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZ_TIME) $$pkg; \
		done; \
	done

bench: ## packager micro-benchmarks, then Lockstream against static nginx with wrk on loopback
	./scripts/bench.sh

lint: ## go vet and staticcheck
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

tidy-check: ## fail when go.mod or go.sum is not tidy (changes nothing)
	$(GO) mod tidy -diff

# Go's build and test caches are shared by every module on the machine, so
# clean leaves them alone; `go clean -testcache` clears them by hand.
clean: ## remove bin/ and test-output/; data/ and Go's caches are kept
	rm -rf bin/ test-output/
