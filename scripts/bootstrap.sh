#!/usr/bin/env bash
# Creates (once) the project's virtual environment in .venv and installs the package into it with
# the extras named in $1 (for example "test"); re-runs only reinstall when pyproject.toml or
# requirements.lock changed. The service's dependencies come from requirements.lock (exact versions,
# hash-checked: the same as the Docker image); the extras' own are resolved against them. With the
# "test" extras it also installs Debian's chromium (the console's browser tests drive it with
# Playwright, whose own browser download is not reachable) and kcat when they are missing.
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

# The browser for tests/api/test_console_in_browser.py and kcat, a Kafka client nobody here wrote,
# for the tests that read the topics (tests/personal_data.py): Debian's packages, as root (or
# through sudo).
missing=()
if [[ ",$extras," == *",test,"* ]]; then
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    command -v kcat >/dev/null 2>&1 || missing+=(kcat)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "bootstrap: installing ${missing[*]} (apt-get) for the tests" >&2
        # Not fatal here: without them those tests skip, or fail under scripts/test.sh
        # (REQUIRE_BROWSER, REQUIRE_KCAT).
        { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"; } >&2 ||
            echo "bootstrap: could not install ${missing[*]}: the browser and topic tests need them" >&2
    else
        echo "bootstrap: no apt-get: install ${missing[*]} for the browser and topic tests" >&2
    fi
fi
