#!/usr/bin/env bash
# Mutation testing of the code that decides who gets what, when, and for how many credits: runs
# mutmut (configured under [tool.mutmut] in pyproject.toml: what it mutates, which fast tests it
# runs) on a scratch copy of the committed tree, so the working copy is never touched, against an
# embedded PostgreSQL of its own, then prints each surviving mutant and the score.
# Usage: scripts/mutation.sh [mutmut run arguments, e.g. --max-children 2]. Not part of CI: it
# takes about an hour on two idle cores. MUTATION_RESUME=1 keeps the last run's scratch copy and
# results, takes the current tests, and tests only the mutants it has not tested yet (after a run
# was stopped halfway), or the mutants named (`MUTATION_RESUME=1 scripts/mutation.sh NAME...`,
# after new tests were written for them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/bootstrap.sh" test,mutation
py="$root/.venv/bin/python"
work="${MUTATION_DIR:-$root/.mutation}"
if [ "${MUTATION_RESUME:-0}" = 1 ] && [ -d "$work/mutants" ]; then
    echo "mutation: resuming the run in $work, with the current tests" >&2
    rm -rf "$work/tests" && cp -r "$root/tests" "$work/tests"
else
    rm -rf "$work" && mkdir -p "$work"
    git -C "$root" ls-files -z | (cd "$root" && tar --null -cf - -T -) | tar -xf - -C "$work"
fi
state="$(mktemp -d /tmp/campaign-service-mutation.XXXXXX)"
trap '"$py" -m runtime.embedded_postgres stop "$state/pg" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
pg_env=$("$py" -m runtime.embedded_postgres start "$state/pg" --fast)
export "$pg_env"
cd "$work"
echo "mutation: running mutmut in $work (log: $work/mutmut.log)" >&2
status=0
"$root/.venv/bin/mutmut" run "$@" >"$work/mutmut.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    tail -n 40 "$work/mutmut.log" >&2
    echo "mutation: mutmut exited with $status" >&2
    exit "$status"
fi
"$py" "$root/scripts/mutation_score.py" "$root/.venv/bin/mutmut"
