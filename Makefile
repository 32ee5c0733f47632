# 开工直通车 · 掌上办 BFF. The two commands: `make run` and `make test`.
GO ?= go
BIN := bin

.PHONY: run test build vet fmt bench drills clean help

help:
	@echo "make run    start the BFF with embedded defaults (SQLite, in-process Redis, local FCM sink, demo data)"
	@echo "make test   vet + the whole test suite (real PostgreSQL and Redis when reachable)"
	@echo "make build  build bin/bff and bin/fcmsink"
	@echo "make drills reliability and security drills against the real binaries, PostgreSQL and Redis (about 5 minutes)"
	@echo "make bench  load the built BFF (PostgreSQL and Redis when reachable) and write BENCHMARKS.md (about 4 minutes)"

# The BFF is pure Go (its SQLite too), so it is built without cgo: the binary
# then maps neither libc nor the dynamic loader, about 1 MB less resident
# memory at idle, and DNS and user lookups use Go's own resolver and
# /etc/passwd reader.
run:
	CGO_ENABLED=0 $(GO) run ./cmd/bff

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/bff ./cmd/bff
	$(GO) build -o $(BIN)/fcmsink ./cmd/fcmsink

bench: build
	$(GO) build -o $(BIN)/loadgen ./cmd/loadgen
	$(BIN)/loadgen -bff $(BIN)/bff -out BENCHMARKS.md

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

test:
	@bash scripts/test.sh

# The Prometheus alert rules in scripts/alerts: promtool check and unit tests
# (installs Debian's prometheus package for promtool when it is missing).
.PHONY: alerts
alerts:
	@bash scripts/check-alerts.sh

# The drills start bin/bff and bin/fcmsink as processes and break things on
# purpose; they skip unless ZSB_DRILLS=1. They mostly wait, so they run in
# parallel, six at a time: their BFFs share PostgreSQL's 100 connections.
drills:
	ZSB_DRILLS=1 $(GO) test -count=1 -timeout 20m -parallel 6 -v ./drills/

clean:
	rm -rf $(BIN) data
