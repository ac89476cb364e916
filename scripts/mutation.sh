#!/usr/bin/env bash
# Mutation testing of the code that decides who gets what, when, and for how many credits: runs
# mutmut in two phases, the domain against its unit tests and the use cases against the fast tests
# ([tool.mutmut] and [tool.campaign-mutation.*] in pyproject.toml), each on a scratch copy of the
# tree in .mutation/<phase> (the working copy is never touched) and against an embedded PostgreSQL
# of its own, then prints each surviving mutant and the score of each phase and of both.
# Usage: scripts/mutation.sh [mutmut run arguments, e.g. --max-children 2]. Not part of CI: it
# takes about 45 minutes on two idle cores. MUTATION_PHASES="use-cases" runs one phase only.
# MUTATION_RESUME=1 keeps each phase's scratch copy and results, takes the current tests, and tests
# only the mutants not tested yet (after a run was stopped halfway), or the mutants named
# (`MUTATION_RESUME=1 MUTATION_PHASES=use-cases scripts/mutation.sh NAME...`, after new tests).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/bootstrap.sh" test,mutation
py="$root/.venv/bin/python"
base="${MUTATION_DIR:-$root/.mutation}"
phases="${MUTATION_PHASES:-domain use-cases}"
state="$(mktemp -d /tmp/campaign-service-mutation.XXXXXX)"
trap '"$py" -m runtime.embedded_postgres stop "$state/pg" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
pg_env=$("$py" -m runtime.embedded_postgres start "$state/pg" --fast)
export "$pg_env"
dirs=()
for phase in $phases; do
    work="$base/$phase"
    if [ "${MUTATION_RESUME:-0}" = 1 ] && [ -d "$work/mutants" ]; then
        echo "mutation: resuming $phase in $work, with the current tests" >&2
        rm -rf "$work/tests" && cp -r "$root/tests" "$work/tests"
    else
        rm -rf "$work" && mkdir -p "$work"
        git -C "$root" ls-files -z | (cd "$root" && tar --null -cf - -T -) | tar -xf - -C "$work"
        "$py" "$root/scripts/mutation_phase.py" "$phase" "$work/pyproject.toml"
    fi
    echo "mutation: $phase: running mutmut in $work (log: $work/mutmut.log)" >&2
    status=0
    (cd "$work" && "$root/.venv/bin/mutmut" run "$@" >"$work/mutmut.log" 2>&1) || status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$work/mutmut.log" >&2
        echo "mutation: $phase: mutmut exited with $status" >&2
        exit "$status"
    fi
    dirs+=("$work")
done
"$py" "$root/scripts/mutation_score.py" "$root/.venv/bin/mutmut" "${dirs[@]}"
