#!/usr/bin/env bash
# Creates (once) the project's virtual environment in .venv and installs the package into it with
# the extras named in $1 (for example "test"); re-runs only reinstall when pyproject.toml or
# requirements.lock changed. The service's dependencies come from requirements.lock (exact versions,
# hash-checked: the same as the Docker image); the extras' own are resolved against them. With the
# "test" extras it also installs Debian's chromium (the console's browser tests drive it with
# Playwright, whose own browser download is not reachable) when /usr/bin/chromium is missing.
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

# The browser for tests/api/test_console_in_browser.py: Debian's package, as root (or through sudo).
if [[ ",$extras," == *",test,"* ]] && [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "bootstrap: installing chromium (apt-get) for the browser tests" >&2
        # Not fatal here: without it the browser tests skip, or fail under scripts/test.sh (REQUIRE_BROWSER).
        { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } >&2 ||
            echo "bootstrap: could not install chromium: the browser tests need /usr/bin/chromium" >&2
    else
        echo "bootstrap: no apt-get: install chromium at /usr/bin/chromium for the browser tests" >&2
    fi
fi
