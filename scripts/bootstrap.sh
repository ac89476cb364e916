#!/usr/bin/env bash
# Creates (once) the project's virtual environment in .venv and installs the package into it with
# the extras named in $1 (for example "test"); re-runs only reinstall when pyproject.toml or
# requirements.lock changed. The service's dependencies come from requirements.lock (exact versions,
# hash-checked: the same as the Docker image); the extras' own are resolved against them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
extras="${1:-}"
venv="$root/.venv"
python="${PYTHON_FOR_VENV:-python3}"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
stamp="$venv/.installed-$(cat "$root/pyproject.toml" "$root/requirements.lock" | sha256sum | cut -c1-16)-${extras:-none}"
if [ ! -e "$stamp" ]; then
    "$venv/bin/python" -m pip install -q --upgrade pip >&2
    "$venv/bin/python" -m pip install -q -r "$root/requirements.lock" >&2
    target="$root"
    [ -n "$extras" ] && target="$root[$extras]"
    # PYTHONWARNINGS quiets setuptools' editable-install banner, which is not about this project.
    PYTHONWARNINGS=ignore "$venv/bin/python" -m pip install -q -e "$target" >&2
    rm -f "$venv"/.installed-*
    touch "$stamp"
fi
