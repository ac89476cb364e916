"""The Gmail adapter's one error mapping: what each failure of a call means for the message."""

from __future__ import annotations

import json
from http.client import RemoteDisconnected

import httplib2
import pytest
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

from consumers.providers.gmail.failures import FailureKind, failure_of


def answered(status: int, reason: str | None = None, message: str = "no") -> HttpError:
    errors = [{"reason": reason, "message": message}] if reason else []
    content = json.dumps({"error": {"code": status, "message": message, "errors": errors}}).encode()
    return HttpError(httplib2.Response({"status": status}), content)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (answered(429), FailureKind.RATE_LIMITED),
        (answered(403, "rateLimitExceeded"), FailureKind.RATE_LIMITED),
        (answered(403, "userRateLimitExceeded"), FailureKind.RATE_LIMITED),
        (answered(403, "dailyLimitExceeded"), FailureKind.DAILY_LIMIT),
        (answered(429, "dailyLimitExceeded"), FailureKind.DAILY_LIMIT),
        (answered(401, "authError"), FailureKind.GRANT_REVOKED),
        (answered(403, "insufficientPermissions"), FailureKind.GRANT_REVOKED),
        (answered(400, "invalidArgument", "Invalid To header"), FailureKind.REFUSED),
        (answered(404, "notFound"), FailureKind.REFUSED),
        (answered(500, "backendError"), FailureKind.AMBIGUOUS),
        (answered(503), FailureKind.AMBIGUOUS),
        (HttpError(httplib2.Response({"status": 502}), b"<html>bad gateway</html>"), FailureKind.AMBIGUOUS),
        (RefreshError("invalid_grant: Token has been expired or revoked.", {}), FailureKind.GRANT_REVOKED),
        (RefreshError("internal_failure: try again", {}), FailureKind.NOT_SENT),
        (TransportError("connection refused"), FailureKind.NOT_SENT),
        (TimeoutError("timed out"), FailureKind.AMBIGUOUS),
        (RemoteDisconnected("closed"), FailureKind.AMBIGUOUS),
        (ConnectionResetError(), FailureKind.AMBIGUOUS),
        (httplib2.ServerNotFoundError("nowhere"), FailureKind.AMBIGUOUS),
    ],
)
def test_each_failure_means_what_gmail_documents(error, kind):
    assert failure_of(error).kind is kind


def test_only_a_refusal_is_permanent():
    assert failure_of(answered(400, "invalidArgument")).permanent
    assert not any(
        failure_of(e).permanent for e in (answered(429), answered(500), answered(403, "dailyLimitExceeded"))
    )


def test_the_detail_names_status_and_reason_for_the_steps_history():
    detail = failure_of(answered(429, "rateLimitExceeded", "Too many concurrent requests for user.")).detail
    assert detail == "gmail 429 rateLimitExceeded: Too many concurrent requests for user."
