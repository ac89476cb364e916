#!/usr/bin/env bash
# Mutation testing of the service: runs mutmut in phases ([tool.mutmut] and
# [tool.campaign-mutation.*] in pyproject.toml; docs/mutation.md lists them, with the time and
# score of each), each against the fast tests that cover what it mutates, on a scratch copy of the
# tree in .mutation/<phase> (the working copy is never touched), all against one embedded
# PostgreSQL (every test makes a database of its own with a random name, so phases that run at
# the same time never share one). Then prints each surviving mutant, and each phase's wall time
# and score, and the score of all.
# Usage: scripts/mutation.sh [mutmut run arguments, e.g. --max-children 2]. Not part of CI.
# MUTATION_PHASES="api read-side" runs those phases only (default: every phase in pyproject.toml).
# MUTATION_JOBS=N runs N phases at once (default 2; each phase runs --max-children mutants at once).
# MUTATION_RESUME=1 keeps each phase's scratch copy and results, takes the current tests, and tests
# only the mutants not tested yet (after a run was stopped halfway), or the mutants named
# (`MUTATION_RESUME=1 MUTATION_PHASES=use-cases scripts/mutation.sh NAME...`, after new tests).
set -euo pipefail
# The whole script is one block, read before it runs: editing the file mid-run (the run takes an
# hour) cannot change what a running copy does next.
{
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/bootstrap.sh" test,mutation
py="$root/.venv/bin/python"
# mutmut runs `mypy` (type_check_command in pyproject.toml) by name, from the project's venv.
export PATH="$root/.venv/bin:$PATH"
base="${MUTATION_DIR:-$root/.mutation}"
phases="${MUTATION_PHASES:-$("$py" "$root/scripts/mutation_phase.py" --list "$root/pyproject.toml")}"
jobs="${MUTATION_JOBS:-2}"
state="$(mktemp -d /tmp/campaign-service-mutation.XXXXXX)"
trap '"$py" -m runtime.embedded_postgres stop "$state/pg" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
pg_env=$("$py" -m runtime.embedded_postgres start "$state/pg" --fast)
export "$pg_env"
# A test's own time limit (pytest-timeout, 45 s in pyproject.toml) is for a test run on a quiet
# machine; mutmut traces every line while it collects which tests reach what, and the phases run
# side by side, so a test that takes 5 s alone may take a minute here. mutmut ends a mutant that
# hangs by a limit of its own (15 times the test's measured time).
export PYTEST_TIMEOUT="${MUTATION_TEST_TIMEOUT:-300}"

# The database server's CPU seconds so far: its own and its ended backends' (each test's
# connections end with the test, and the server collects their times). With one phase at a time
# (MUTATION_JOBS=1) a phase's share is its difference; phases side by side share the server.
db_cpu() {
    local pid ticks
    pid=$(head -n 1 "$state/pg/pgdata/postmaster.pid")
    ticks=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pid/stat")
    echo $((ticks / $(getconf CLK_TCK)))
}

# One phase, start to end; its wall time and CPU time go to $work/wall-seconds and cpu-seconds,
# read by mutation_score.py.
run_phase() {
    local phase="$1" work="$base/$1"
    shift
    local started=$SECONDS status=0 db_started
    db_started=$(db_cpu)
    if [ "${MUTATION_RESUME:-0}" = 1 ] && [ -d "$work/mutants" ]; then
        echo "mutation: resuming $phase in $work, with the current tests" >&2
        rm -rf "$work/tests" && cp -r "$root/tests" "$work/tests"
    else
        rm -rf "$work" && mkdir -p "$work"
        git -C "$root" ls-files -z | (cd "$root" && tar --null -cf - -T -) | tar -xf - -C "$work"
        "$py" "$root/scripts/mutation_phase.py" "$phase" "$work/pyproject.toml"
    fi
    echo "mutation: $phase: running mutmut in $work (log: $work/mutmut.log)" >&2
    # `time` counts the CPU of mutmut and of every test process it forked and waited for (not the
    # PostgreSQL server's): on a busy machine the wall time says little, the CPU time what it costs.
    local TIMEFORMAT="%U %S"
    { time (cd "$work" && "$root/.venv/bin/mutmut" run "$@" >"$work/mutmut.log" 2>&1); } 2>"$work/cpu" || status=$?
    echo $((SECONDS - started)) >"$work/wall-seconds"
    awk '{ print int($1 + $2) }' "$work/cpu" >"$work/cpu-seconds"
    echo $(($(db_cpu) - db_started)) >"$work/db-cpu-seconds"
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$work/mutmut.log" >&2
        echo "mutation: $phase: mutmut exited with $status" >&2
        return "$status"
    fi
    echo "mutation: $phase: done in $((SECONDS - started)) s" >&2
}

dirs=()
for phase in $phases; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    (
        status=0
        run_phase "$phase" "$@" || status=$?
        echo "$status" >"$state/$phase.status"
    ) &
    dirs+=("$base/$phase")
done
wait
for phase in $phases; do
    if [ "$(cat "$state/$phase.status" 2>/dev/null)" != 0 ]; then
        echo "mutation: phase $phase failed (see above)" >&2
        exit 1
    fi
done
"$py" "$root/scripts/mutation_score.py" "$root/.venv/bin/mutmut" "${dirs[@]}"
exit
}
