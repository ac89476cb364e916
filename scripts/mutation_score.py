"""Prints the mutation score of each phase of the last `mutation.sh` run and of all, and each survivor's diff.

Each phase's wall time and CPU time are the ones scripts/mutation.sh wrote to the phase's
`wall-seconds`, `cpu-seconds` and `db-cpu-seconds` (of the last run, or resumed run, of the phase). Score = killed (a timeout counts: the mutant hung the tests) / every mutant, so a mutant that no
fast test reaches counts as a survivor; those are listed as "no tests". A mutant mypy rejects counts
as killed (CI's `mypy --strict` would refuse it); the tests' own score, over the mutants mypy lets
through, is printed beside it. Run by scripts/mutation.sh
after mutmut; the arguments are mutmut's path and each phase's scratch folder.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

TYPE_CHECKED = "caught by type check"
KILLED = ("killed", "timeout", TYPE_CHECKED)
SURVIVED = ("survived", "no tests", "suspicious")


def verdicts(mutmut: str, folder: Path) -> dict[str, str]:
    listing = subprocess.run(
        [mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True, cwd=folder
    )
    found = {}
    for line in listing.stdout.splitlines():
        name, _, verdict = line.strip().rpartition(": ")
        if name:
            found[name] = verdict
    return found


def main(mutmut: str, folders: list[str]) -> int:
    totals: Counter[str] = Counter()
    for folder in map(Path, folders):
        status = verdicts(mutmut, folder)
        for name in sorted(n for n, v in status.items() if v in SURVIVED):
            shown = subprocess.run([mutmut, "show", name], capture_output=True, text=True, cwd=folder).stdout
            diff = [ln for ln in shown.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
            print(f"{status[name]}: {name}\n    " + "\n    ".join(diff))
        counts = Counter(status.values())
        totals.update(counts)
        print(f"\n{folder.name}: " + ", ".join(f"{verdict} {n}" for verdict, n in counts.most_common()))
        print(f"{folder.name}: mutation score {_score(counts)}; the tests' own {_tests_score(counts)}")
        print(
            f"{folder.name}: wall time {_duration(folder, 'wall')}, CPU time {_duration(folder, 'cpu')}"
            f" (tests), {_duration(folder, 'db-cpu')} (the database, shared by the phases beside it)\n"
        )
    print(f"all phases: mutation score {_score(totals)}; the tests' own {_tests_score(totals)}")
    return 0


def _duration(folder: Path, kind: str) -> str:
    recorded = folder / f"{kind}-seconds"
    if not recorded.exists():
        return "not recorded"
    minutes, seconds = divmod(int(recorded.read_text()), 60)
    return f"{minutes} min {seconds:02d} s"


def _score(counts: Counter[str]) -> str:
    killed, every = sum(counts[v] for v in KILLED), sum(counts.values())
    return f"{killed}/{every} = {killed / every:.1%}" if every else "no mutants"


def _tests_score(counts: Counter[str]) -> str:
    """Killed by tests over the mutants mypy lets through (those the tests alone must catch)."""
    typed = Counter({v: n for v, n in counts.items() if v != TYPE_CHECKED})
    return _score(typed) if typed else "no mutants past mypy"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
