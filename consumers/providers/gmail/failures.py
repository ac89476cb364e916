"""What a failed Gmail call means for the message: the one error mapping of the Gmail adapter.

Rate limits (429, `rateLimitExceeded`, `userRateLimitExceeded`) are retried later; the mailbox's
own daily limit (`dailyLimitExceeded`) parks the account for the day as well; a revoked or expired
grant (`invalid_grant`), or an access token Gmail will not take, asks for the mailbox to be
connected again; any other 4xx refuses the message for good. A 5xx, a timeout, a dropped
connection or an answer lost on the way back leave open whether Gmail took it: ambiguous, to be
looked up before anything is sent again. A failure to reach the token endpoint happens before the
send, so nothing went out.
"""

from __future__ import annotations

import http.client
import json
import logging
from dataclasses import dataclass
from enum import Enum

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

log = logging.getLogger(__name__)

RATE_LIMITS = {"rateLimitExceeded", "userRateLimitExceeded"}
DAILY_LIMITS = {"dailyLimitExceeded", "quotaExceeded"}
GRANT_PROBLEMS = {"authError", "insufficientPermissions", "invalidCredentials"}


class FailureKind(Enum):
    RATE_LIMITED = "rate limited"  # retry later
    DAILY_LIMIT = "daily limit reached"  # retry later, the account parked until the daily reset
    GRANT_REVOKED = "reconnect required"  # the account leaves the rotation; others take the step
    REFUSED = "refused"  # for good
    NOT_SENT = "not sent"  # failed before the send went out: retry later
    AMBIGUOUS = "ambiguous"  # may have been taken: look it up before sending again


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    detail: str  # for the step's history: status and Google's reason, never a credential

    @property
    def permanent(self) -> bool:
        return self.kind is FailureKind.REFUSED


def failure_of(error: Exception) -> Failure:
    if isinstance(error, HttpError):
        return _answered(error)
    if isinstance(error, RefreshError):
        first = str(error.args[0]) if error.args else ""
        if "invalid_grant" in first or "invalid_client" in first or "unauthorized_client" in first:
            return Failure(
                FailureKind.GRANT_REVOKED, f"gmail: the mailbox's grant was refused ({_code(first)})"
            )
        return Failure(FailureKind.NOT_SENT, "gmail: the token endpoint did not give an access token")
    if isinstance(error, TransportError):
        return Failure(FailureKind.NOT_SENT, "gmail: the token endpoint could not be reached")
    if isinstance(error, (TimeoutError, OSError, http.client.HTTPException, httplib2.HttpLib2Error)):
        return Failure(FailureKind.AMBIGUOUS, f"gmail: no answer ({type(error).__name__})")
    log.exception("unexpected error from the Gmail client; treated as ambiguous", exc_info=error)
    return Failure(FailureKind.AMBIGUOUS, f"gmail: unexpected {type(error).__name__}")


def _answered(error: HttpError) -> Failure:
    status = int(error.resp.status)
    reason, message = _google_reason(error.content)
    detail = f"gmail {status} {reason or ''}: {message}".replace(" :", ":")[:300]
    if reason in DAILY_LIMITS:
        return Failure(FailureKind.DAILY_LIMIT, detail)
    if status == 429 or reason in RATE_LIMITS:
        return Failure(FailureKind.RATE_LIMITED, detail)
    if status == 401 or (status == 403 and reason in GRANT_PROBLEMS):
        return Failure(FailureKind.GRANT_REVOKED, detail)
    if status >= 500:
        return Failure(FailureKind.AMBIGUOUS, detail)
    return Failure(FailureKind.REFUSED, detail)


def _google_reason(content: bytes) -> tuple[str | None, str]:
    """Google's error reason (`rateLimitExceeded`, ...) and message from an error answer's body."""
    try:
        error = json.loads(content)["error"]
        reasons = [e.get("reason") for e in error.get("errors", []) if isinstance(e, dict)]
        return next((r for r in reasons if r), None), str(error.get("message", ""))[:200]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, content[:200].decode("utf-8", "replace")


def _code(text: str) -> str:
    return text.split(":", 1)[0].strip()[:60] or "refused"
