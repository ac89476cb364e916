#!/usr/bin/env bash
# Mutation testing of the code that decides who gets what, when, and for how many credits: runs
# mutmut (configured under [tool.mutmut] in pyproject.toml) on a scratch copy of the committed tree,
# so the working copy is never touched, and prints the score and the surviving mutants.
# Usage: scripts/mutation.sh [mutmut run arguments]. Not part of CI: it takes minutes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/bootstrap.sh" test,mutation
work="${MUTATION_DIR:-$root/.mutation}"
rm -rf "$work" && mkdir -p "$work"
git -C "$root" ls-files -z | (cd "$root" && tar --null -cf - -T -) | tar -xf - -C "$work"
cd "$work"
"$root/.venv/bin/mutmut" run "$@" >/dev/null 2>&1 || true
"$root/.venv/bin/python" "$root/scripts/mutation_score.py" "$root/.venv/bin/mutmut"
