#!/usr/bin/env bash
# Runs the Campaign Service on the embedded default (embedded PostgreSQL, in-process transport,
# sandbox providers) after setting up .venv; extra arguments go to `campaign-service serve`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/campaign-service" serve "$@"
