#!/usr/bin/env bash
# Runs the whole test suite on real infrastructure: sets up .venv, starts an embedded PostgreSQL
# and a single-node Kafka broker on loopback, checks lint and layering, runs pytest (unit and
# integration together; most in parallel, see below) and stops both servers. Fails if pytest
# collected no test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/bootstrap.sh" test
py="$root/.venv/bin/python"
state="$(mktemp -d /tmp/campaign-service-test.XXXXXX)"
export KAFKA_STATE_DIR="$state/kafka" PYTHON="$py"

cleanup() {
    "$py" -m runtime.embedded_postgres stop "$state/pg" >/dev/null 2>&1 || true
    "$root/scripts/kafka.sh" stop >/dev/null 2>&1 || true
    rm -rf "$state"
}
trap cleanup EXIT

echo "== lint and layering" >&2
"$root/.venv/bin/ruff" check .
"$root/.venv/bin/ruff" format --check .
"$root/.venv/bin/lint-imports" >/dev/null
"$root/.venv/bin/mypy"  # strict, on every layer: [tool.mypy] in pyproject.toml

echo "== starting PostgreSQL and Kafka" >&2
# Assignments (unlike `export $(...)`) stop the script when a server fails to start.
pg_env=$("$py" -m runtime.embedded_postgres start "$state/pg" --fast)
export "$pg_env"
# Free loopback ports, so a broker a developer already runs elsewhere is left alone.
read -r KAFKA_PORT KAFKA_CONTROLLER_PORT < <("$py" -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
export KAFKA_PORT KAFKA_CONTROLLER_PORT
kafka_env=$("$root/scripts/kafka.sh" start)
export "$kafka_env"
export REQUIRE_KAFKA=1
# The console's browser tests fail, rather than skip, without the chromium bootstrap.sh installed.
export REQUIRE_BROWSER=1
# The topic searches read with kcat (a client nobody here wrote), which bootstrap.sh installed.
export REQUIRE_KCAT=1

# Most tests wait (on background roles, servers starting, providers' answers), so TEST_WORKERS
# pytest-xdist workers (default 4, each taking whole test files) overlap those waits; the few
# marked `serial` time an outage of a server of their own and run afterwards, alone.
echo "== pytest: in parallel" >&2
set +e
"$py" -m pytest -n "${TEST_WORKERS:-4}" --dist loadfile -m "not serial" "$@"
parallel=$?
echo "== pytest: the serial tests" >&2
"$py" -m pytest -m serial "$@"
serial=$?
set -e
if [ "$parallel" -eq 5 ] && [ "$serial" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
for status in "$parallel" "$serial"; do
    if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
        exit "$status"
    fi
done
exit 0
