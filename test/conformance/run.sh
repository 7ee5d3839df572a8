#!/usr/bin/env bash
# Runs CZ-NIC Deckard's resolver scenarios against this checkout's dist/ build,
# through a conformance runner checkout (a folder holding run.sh, its lists and a
# Deckard beside it; see the README's "Conformance" section).
#
#   npm run conformance -- RUNNER_DIR [LIST ...]
#
# RUNNER_DIR  the runner's folder (it has run.sh and scenarios-*.txt)
# LIST        scenario list files, relative to RUNNER_DIR or absolute
#             (default: scenarios-iteration.txt)
# Exit status 0 only if every scenario of every list passes (both QNAME
# minimisation variants, as Deckard runs them with our deckard.yaml.j2).
set -o nounset -o pipefail
if [ $# -lt 1 ] || [ ! -f "$1/run.sh" ]; then
  echo "usage: npm run conformance -- RUNNER_DIR [LIST ...]   (RUNNER_DIR must contain run.sh)" >&2
  exit 2
fi
runner="$(cd "$1" && pwd)"; shift
[ $# -eq 0 ] && set -- scenarios-iteration.txt
status=0
for list in "$@"; do
  case "$list" in /*) file="$list" ;; *) file="$runner/$list" ;; esac
  [ -f "$file" ] || { echo "conformance: no list $file" >&2; exit 2; }
  echo "conformance: $(basename "$file")"
  # shellcheck disable=SC2046
  bash "$runner/run.sh" $(grep -v '^\s*#' "$file") || status=1
done
exit $status
