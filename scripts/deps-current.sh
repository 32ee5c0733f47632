#!/usr/bin/env bash
# Checks that every direct dependency is at the newest patch release of its
# major.minor line: it lists the direct requirements (go list -m -u all),
# asks the module proxy for their published versions, and names any that
# lags a patch release (same major.minor, higher patch), exiting non-zero.
# Newer minor or major releases are only mentioned: moving to them is a
# decision, not hygiene. Needs the module proxy, so CI runs it (.ci/run);
# make test does not.
set -euo pipefail
cd "$(dirname "$0")/.."

# path, version and newest version of each direct dependency.
direct=$(go list -m -u -f '{{if and (not .Main) (not .Indirect)}}{{.Path}} {{.Version}} {{with .Update}}{{.Version}}{{end}}{{end}}' all)
if [ -z "$direct" ]; then
  echo "deps-current: no direct dependencies found" >&2
  exit 1
fi
paths=$(awk '{print $1}' <<<"$direct")

echo "== direct dependencies and their newest patch release =="
# shellcheck disable=SC2086 # one argument per module path
go list -m -versions -f '{{.Path}} {{.Version}} {{join .Versions " "}}' $paths | awk -v updates="$direct" '
BEGIN {
  n = split(updates, lines, "\n")
  for (i = 1; i <= n; i++) { split(lines[i], f, " "); latest[f[1]] = f[3] }
  release = "^v[0-9]+\\.[0-9]+\\.[0-9]+(\\+incompatible)?$"
}
{
  path = $1; cur = $2; total++
  if (cur !~ release) {
    printf "  %-45s %s (not a release version; not checked)\n", path, cur
    next
  }
  split(cur, c, /[.+]/)
  best = c[3] + 0; bestv = ""
  for (i = 3; i <= NF; i++) {
    v = $i
    if (v !~ release) continue
    split(v, x, /[.+]/)
    if (x[1] == c[1] && x[2] == c[2] && x[3] + 0 > best) { best = x[3] + 0; bestv = v }
  }
  note = ""
  if (latest[path] != "" && latest[path] != bestv) note = " (newer line available: " latest[path] ")"
  if (bestv != "") {
    printf "  %-45s %s LAGS: %s is out%s\n", path, cur, bestv, note
    lagging++
  } else {
    printf "  %-45s %s ok%s\n", path, cur, note
  }
}
END {
  if (lagging > 0) {
    printf "deps-current: %d of %d direct dependencies lag a patch release\n", lagging, total
    exit 1
  }
  printf "deps-current: all %d direct dependencies are at their newest patch release\n", total
}'
