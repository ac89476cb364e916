"""Prints the mutation score of the last `mutmut run` in the current folder, and each survivor's diff.

Score = killed (a timeout counts: the mutant hung the tests) / every mutant, so a mutant that no
fast test reaches counts as a survivor; those are listed as "no tests". Run by scripts/mutation.sh after mutmut; the argument is mutmut's path.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter


def main(mutmut: str) -> int:
    listing = subprocess.run([mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True)
    status = {}
    for line in listing.stdout.splitlines():
        name, _, verdict = line.strip().rpartition(": ")
        if name:
            status[name] = verdict
    counts = Counter(status.values())
    killed = counts["killed"] + counts["timeout"] + counts["caught by type check"]
    for name in sorted(n for n, v in status.items() if v in ("survived", "no tests", "suspicious")):
        shown = subprocess.run([mutmut, "show", name], capture_output=True, text=True).stdout
        diff = [ln for ln in shown.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
        print(f"{status[name]}: {name}\n    " + "\n    ".join(diff))
    print("\n" + ", ".join(f"{verdict} {n}" for verdict, n in counts.most_common()))
    score = killed / len(status) if status else 0.0
    print(f"mutation score: {killed}/{len(status)} = {score:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
