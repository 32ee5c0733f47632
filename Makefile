# 开工直通车 · 掌上办 BFF. The two commands: `make run` and `make test`.
GO ?= go
BIN := bin

.PHONY: run test build vet fmt bench drills services clean help

help:
	@echo "make run    start the BFF with embedded defaults (SQLite, in-process Redis, local FCM sink, demo data)"
	@echo "make test   vet + the whole test suite (real PostgreSQL and Redis when reachable)"
	@echo "make build  build bin/bff and bin/fcmsink"

run:
	$(GO) run ./cmd/bff

build:
	$(GO) build -o $(BIN)/bff ./cmd/bff
	$(GO) build -o $(BIN)/fcmsink ./cmd/fcmsink

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

test:
	@bash scripts/test.sh

clean:
	rm -rf $(BIN) data
