"""Sets a scratch copy's mutmut configuration to one phase of the mutation run (scripts/mutation.sh).

Reads `[tool.campaign-mutation.<phase>]` of the given pyproject.toml (what the phase mutates and
which tests it runs) and writes them into that file's `[tool.mutmut]` table as mutmut's
`only_mutate` and `pytest_add_cli_args_test_selection`. Usage: mutation_phase.py PHASE PYPROJECT;
`mutation_phase.py --list PYPROJECT` prints the phases' names, in the order the file gives them.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

HEADER = "[tool.mutmut]\n"


def main(phase: str, pyproject: Path) -> int:
    text = pyproject.read_text()
    phases = tomllib.loads(text)["tool"]["campaign-mutation"]
    if phase == "--list":
        print(" ".join(phases))
        return 0
    if phase not in phases:
        print(f"mutation_phase: no phase {phase!r}; phases are {', '.join(phases)}", file=sys.stderr)
        return 2
    chosen = phases[phase]
    lines = (
        f"only_mutate = {json.dumps(chosen['only_mutate'])}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(chosen['tests'])}\n"
    )
    if text.count(HEADER) != 1:
        print(f"mutation_phase: {pyproject} needs exactly one {HEADER.strip()} table", file=sys.stderr)
        return 2
    pyproject.write_text(text.replace(HEADER, HEADER + lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
