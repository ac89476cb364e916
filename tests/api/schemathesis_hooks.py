"""Schemathesis hooks for the API fuzz test (loaded through SCHEMATHESIS_HOOKS by test_schemathesis.py).

A fuzzer draws header values from a small pool, so it sends the same Idempotency-Key with different
bodies; the contract answers that with a 422 (a reused key), which schemathesis would count as a
valid request refused. Each generated request therefore gets a key of its own: replays of one key
are covered by tests/api/test_idempotency_keys.py.
"""

from __future__ import annotations

from uuid import uuid4

import schemathesis


@schemathesis.hook
def before_call(ctx, case, **kwargs) -> None:
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            headers[name] = f"fuzz-{uuid4()}"
