#!/usr/bin/env bash
# The README's test command (make test): formatting, vet, then every test,
# against the real PostgreSQL and Redis when they answer (CI requires them).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
: "${TEST_REDIS_URL:=redis://127.0.0.1:6379/0}"
export TEST_DATABASE_URL TEST_REDIS_URL

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './vendor/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...

echo "== backends =="
go run ./scripts/backends
echo "== tests =="
go test -count=1 -timeout 20m ./... "$@"
# make run uses SQLite, production PostgreSQL; where a statement has a form
# for each (internal/store, the notify pipeline, intake and tasks), the
# packages that run them are tested again on SQLite.
echo "== tests on SQLite =="
TEST_DATABASE_URL=sqlite go test -count=1 -timeout 10m ./internal/store/... ./internal/projectview/... ./notify ./notify/intake/... ./notify/tasks/... "$@"
