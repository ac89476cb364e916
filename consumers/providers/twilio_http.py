"""The HTTP client the Twilio SDK talks through: every REST call goes to TWILIO_API_BASE_URL.

In production that is Twilio itself; in tests a loopback fake. The host of whatever Twilio URL
the SDK builds (api.twilio.com or a regional one) is replaced by the configured base. The SDK's
own request logging is replaced by one debug line whose path hides the account SID, and urllib3's
debug line about the connection is filtered the same way, so neither half of a credential reaches
a log (the auth token travels only in the basic auth header, which nobody logs). No retries here: a failed call is an outcome for the send
path, which retries with backoff and reconciles first.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

log = logging.getLogger(__name__)
ACCOUNT_IN_PATH = re.compile(r"/Accounts/[^/]+")


class AccountHidden(logging.Filter):
    """Rewrites a log line that shows a Twilio REST path so the account SID in it is hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/Accounts/" in message:
            record.msg, record.args = ACCOUNT_IN_PATH.sub("/Accounts/<account>", message), ()
        return True


def hide_accounts_in_connection_logs() -> None:
    """urllib3 logs each request's path at debug level: keep the account SID out of it (once)."""
    connections = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, AccountHidden) for f in connections.filters):
        connections.addFilter(AccountHidden())


class RoutedTwilioHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK is untyped
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout, logger=log)
        self.base = urlsplit(base_url.rstrip("/"))
        hide_accounts_in_connection_logs()

    def rewrite(self, url: str) -> str:
        """The same request aimed at the configured base (its scheme, host and any path prefix)."""
        parts = urlsplit(url)
        path = self.base.path + parts.path
        return urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, parts.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        return super().request(
            method, self.rewrite(url), params, data, headers, auth, timeout, allow_redirects
        )

    def log_request(self, kwargs: dict[str, Any]) -> None:
        path = ACCOUNT_IN_PATH.sub("/Accounts/<account>", urlsplit(kwargs["url"]).path)
        log.debug("twilio %s %s", kwargs["method"], path)

    def log_response(self, status_code: int, response: Any) -> None:
        log.debug("twilio answered %s", status_code)
