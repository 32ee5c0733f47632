#!/usr/bin/env bash
# Check the Prometheus alert rules in scripts/alerts: `promtool check rules`
# (syntax, PromQL, templates) and `promtool test rules` (each alert fires
# when it should and stays quiet when it should). promtool comes from
# Debian's prometheus package, installed here only when it is missing.
set -euo pipefail
cd "$(dirname "$0")/alerts"

fail() {
  echo "check-alerts: FAILED: $*" >&2
  exit 1
}

if ! command -v promtool >/dev/null 2>&1; then
  echo "check-alerts: promtool is missing; installing Debian's prometheus package"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "promtool is missing and installing it needs root (no sudo here)"
    SUDO="sudo -n"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q || fail "apt-get update"
  # --no-install-recommends: promtool is all we need, not a running server.
  $SUDO apt-get install -y -q --no-install-recommends prometheus || fail "apt-get install prometheus"
  # The package starts a Prometheus server where it can (systemd or
  # invoke-rc.d); CI only wants the tool.
  command -v promtool >/dev/null 2>&1 || fail "the prometheus package did not provide promtool"
fi
promtool --version 2>&1 | head -n 1

shopt -s nullglob
rules=()
for f in *.rules.yml; do rules+=("$f"); done
tests=()
for f in *.rules.test.yml; do tests+=("$f"); done
[ ${#rules[@]} -gt 0 ] || fail "no rule files (*.rules.yml) in scripts/alerts"
[ ${#tests[@]} -gt 0 ] || fail "no rule tests (*.rules.test.yml) in scripts/alerts"

promtool check rules "${rules[@]}" || fail "promtool check rules ${rules[*]}"
promtool test rules "${tests[@]}" || fail "promtool test rules ${tests[*]}"
echo "check-alerts: OK (${rules[*]}; ${tests[*]})"
