"""Authorised Gmail API clients, one mailbox at a time, from the account's sealed OAuth credentials.

Each sender account holds a refresh token and its OAuth client (commands/sending/credentials.py);
`google.oauth2.credentials.Credentials` turns them into access tokens on demand, kept per account
while they last. Calls go through an HTTP client that never repeats a request by itself: httplib2
would send a POST again when the connection drops before the answer, and a lost answer must be
looked up, not sent twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import cache
from typing import Any
from uuid import UUID

import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc

SCOPES = ("https://www.googleapis.com/auth/gmail.send", "https://www.googleapis.com/auth/gmail.readonly")


class MissingGrant(Exception):
    """The account has no usable OAuth credentials: its owner must connect it (again)."""


class OneShotHttp(httplib2.Http):  # type: ignore[misc]  # httplib2 is untyped
    """httplib2 without its silent retries: one connection attempt, one request, one answer."""

    def _conn_request(self, conn: Any, request_uri: str, method: str, body: Any, headers: Any) -> Any:
        try:
            if conn.sock is None:
                conn.connect()
            conn.request(method, request_uri, body, headers)
            answer = conn.getresponse()
            content = b"" if method == "HEAD" else answer.read()
        except BaseException:
            conn.close()
            raise
        response = httplib2.Response(answer)
        if method != "HEAD":
            content = httplib2._decompressContent(response, content, self.limit_kwargs)
        return response, content


class MailboxSessions:
    """Gmail API clients for sender accounts; credentials are reused while their access token lasts."""

    def __init__(self, api_base_url: str, default_token_uri: str, timeout_s: float) -> None:
        self.api_base_url = api_base_url
        self.default_token_uri = default_token_uri
        self.timeout_s = timeout_s
        self._credentials: dict[tuple[UUID, str], Credentials] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MailboxSessions(api_base_url={self.api_base_url!r})"

    def gmail(self, account_id: UUID, grant: dict[str, str]) -> Any:
        """A Gmail API client acting as the account's mailbox (`userId="me"`)."""
        http = AuthorizedHttp(
            self._credentials_for(account_id, grant), http=OneShotHttp(timeout=self.timeout_s)
        )
        return build_from_document(
            _gmail_discovery(), http=http, client_options={"api_endpoint": self.api_base_url}
        )

    def _credentials_for(self, account_id: UUID, grant: dict[str, str]) -> Credentials:
        if not all(grant.get(key) for key in ("refresh_token", "client_id", "client_secret")):
            raise MissingGrant(f"sender account {account_id} has no complete Gmail OAuth credentials")
        # Keyed by the grant's digest too: a reconnected account gets fresh credentials.
        key = (account_id, hashlib.sha256(json.dumps(grant, sort_keys=True).encode()).hexdigest())
        with self._lock:
            credentials = self._credentials.get(key)
            if credentials is None:
                credentials = Credentials(  # type: ignore[no-untyped-call]
                    token=None,
                    refresh_token=grant["refresh_token"],
                    client_id=grant["client_id"],
                    client_secret=grant["client_secret"],
                    token_uri=grant.get("token_uri") or self.default_token_uri,
                    scopes=list(SCOPES),
                )
                self._credentials = {k: v for k, v in self._credentials.items() if k[0] != account_id}
                self._credentials[key] = credentials
            return credentials


@cache
def _gmail_discovery() -> dict[str, Any]:
    """Gmail's discovery document as the client library ships it, parsed once per process: the
    client made for each send is built from it (parsing its 150 KB for each send took a
    millisecond of CPU and left thousands of objects for the garbage collector)."""
    document = get_static_doc("gmail", "v1")
    if document is None:
        raise RuntimeError("google-api-python-client ships no Gmail discovery document")
    parsed: dict[str, Any] = json.loads(document)
    return parsed
