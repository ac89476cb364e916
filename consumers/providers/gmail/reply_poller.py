"""Reads each connected Gmail mailbox for replies and bounces to the campaigns' emails.

One pass polls every active Gmail sender account on its own (`parked.each_contained`), so one
broken mailbox costs only itself: a revoked grant makes the account `reconnect_required` (it is
read again once reconnected), Gmail being slow or away skips the mailbox until the next pass, and
anything else is counted against the mailbox and parked after repeated failures. A mailbox is
read from the last stored `historyId` (`users.history.list`, messages added); a new mailbox, or
one whose history id Gmail no longer keeps (404), is scanned over its recent messages and read
from the profile's `historyId` on. Each added message is classified (incoming_mail.py) and tied
to the conversation it answers (conversation_threads.py): a reply stops the contact's remaining
steps in that campaign, and an automatic answer or our own sent message changes nothing. A bounce
counts only when it names a Message-ID this mailbox sent (in its headers, or in the report read
raw, bounce_reports.py): then it marks that step undelivered and suppresses that step's recipient
and nobody else; a bounce naming no message of the mailbox is logged and ignored.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from googleapiclient.errors import HttpError

from commands.application import CampaignApplication
from commands.inbound.bounces import record_bounce
from commands.inbound.replies import record_reply_in_enrollment
from commands.sending.credentials import CredentialCipher, CredentialsUnavailable, decrypt_credentials
from commands.sending.sender_accounts import ConnectedMailbox, connected_mailboxes
from commands.sending.sender_health import require_reconnect
from consumers.providers.gmail import conversation_threads, mailbox_history, send_attempts
from consumers.providers.gmail.bounce_reports import NOTHING, BounceReport, read_report
from consumers.providers.gmail.failures import FailureKind, failure_of
from consumers.providers.gmail.incoming_mail import HEADERS, IncomingMail, MailKind, read_incoming
from consumers.providers.gmail.mailbox_sessions import MailboxSessions, MissingGrant
from consumers.providers.gmail.outgoing_mail import shaped_as_ours
from domain.enrollment import Enrollment
from storage import parked
from storage.database import Database

log = logging.getLogger(__name__)

FOLLOWER = "gmail_replies"
RECENT = "newer_than:7d"  # what a resync scans: replies older than this are not looked for
MOST_SCANNED = 500  # messages a resync reads at most, so one huge mailbox cannot hold the pass
MOST_REPORT_BYTES = 2_000_000  # a bounce bigger than this is judged by its headers alone
WAIT_FOR_NEXT_PASS = {FailureKind.AMBIGUOUS, FailureKind.NOT_SENT, FailureKind.RATE_LIMITED}


class MailboxUnreadable(Exception):
    """Gmail refused to answer for the mailbox (not a grant problem, not an outage): counted and,
    if it keeps happening, the mailbox is parked for an operator."""


class HistoryExpired(Exception):
    """Gmail no longer keeps the history from the stored id (404): scan the recent messages."""


class ReplyPoller:
    def __init__(
        self,
        store: CampaignApplication,
        db: Database,
        sessions: MailboxSessions,
        cipher: CredentialCipher | None,
        now: Callable[[], datetime],
    ) -> None:
        self.store, self.db, self.sessions, self.cipher, self.now = store, db, sessions, cipher, now

    def tick(self) -> int:
        """Read every connected mailbox once; how many replies and bounces were recorded."""
        return parked.each_contained(
            self.db,
            FOLLOWER,
            connected_mailboxes(self.db, "gmail"),
            self.poll,
            key=lambda mailbox: str(mailbox.id),
            brand=lambda mailbox: mailbox.brand_id,
        )

    def poll(self, mailbox: ConnectedMailbox) -> int:
        """Handle what arrived in one mailbox since it was last read."""
        try:
            gmail = self.sessions.gmail(mailbox.id, decrypt_credentials(self.db, self.cipher, mailbox.id))
            return self._read(gmail, mailbox)
        except (MissingGrant, CredentialsUnavailable) as unusable:
            require_reconnect(self.db, mailbox.id, str(unusable))
            return 0
        except GoogleTrouble as trouble:
            failure = failure_of(trouble.error)
            if failure.kind is FailureKind.GRANT_REVOKED:
                require_reconnect(self.db, mailbox.id, failure.detail)
            elif failure.kind in WAIT_FOR_NEXT_PASS or failure.kind is FailureKind.DAILY_LIMIT:
                log.warning("gmail replies: %s is not read this pass (%s)", mailbox.address, failure.detail)
            else:
                raise MailboxUnreadable(failure.detail) from trouble.error
            return 0

    def _read(self, gmail: Any, mailbox: ConnectedMailbox) -> int:
        start = mailbox_history.last_read(self.db, mailbox.id)
        try:
            if start is None:
                raise HistoryExpired
            added, reached = _history_since(gmail, start)
        except HistoryExpired:
            # The profile's id first: whatever arrives during the scan is in the next history.
            reached = str(_call(gmail.users().getProfile(userId="me"))["historyId"])
            added = list(_recent(gmail))
        done = sum(self._handle(gmail, mailbox, gmail_id) for gmail_id in added)
        mailbox_history.read_up_to(self.db, mailbox.id, reached)
        return done

    def _handle(self, gmail: Any, mailbox: ConnectedMailbox, gmail_id: str) -> int:
        request = (
            gmail.users()
            .messages()
            .get(userId="me", id=gmail_id, format="metadata", metadataHeaders=list(HEADERS))
        )
        try:
            message = _call(request)
        except GoogleTrouble as trouble:
            if _status(trouble.error) == 404:
                return 0  # deleted since it arrived
            raise
        mail = read_incoming(message, mailbox.address)
        if mail.kind in (MailKind.OURS, MailKind.AUTOMATIC):
            return 0
        if mail.kind is MailKind.BOUNCE:
            return self._bounced(gmail, mailbox, mail)
        answered = conversation_threads.answered_conversation(
            self.db, mailbox.id, mail.thread_id, mail.refers_to
        )
        if answered is None:
            return 0  # not about a campaign's email
        enrollment_id = Enrollment.create_id(answered.campaign_id, answered.contact_id)
        return record_reply_in_enrollment(self.store, enrollment_id, "email", mail.gmail_id, self.now())

    def _bounced(self, gmail: Any, mailbox: ConnectedMailbox, mail: IncomingMail) -> int:
        """Record a bounce of a message this mailbox sent; anything else claiming to be one is ignored.

        Its thread proves nothing (a sender can be threaded by subject alone) and neither do the
        addresses it names: only a Message-ID the mailbox sent, looked up in its own send attempts,
        so one brand's mailbox can reach only its own steps."""
        report = self._report(gmail, mail)
        if report.failed is False:
            return 0  # delayed, delivered or relayed: no bounce
        named = [i for i in (*mail.refers_to, *report.message_ids) if shaped_as_ours(i, mailbox.address)]
        step_key = send_attempts.step_sent_as(self.db, mailbox.id, named) if named else None
        if step_key is None:
            log.warning(
                "gmail replies: a bounce in %s (gmail id %s) names no message the mailbox sent; ignored",
                mailbox.address,
                mail.gmail_id,
            )
            return 0
        return record_bounce(
            self.store, self.db, mailbox.brand_id, step_key, f"bounced ({mail.sender})", self.now()
        )

    def _report(self, gmail: Any, mail: IncomingMail) -> BounceReport:
        """The bounce's report read from its raw bytes; nothing for one too big to fetch."""
        if mail.size > MOST_REPORT_BYTES:
            return NOTHING
        request = gmail.users().messages().get(userId="me", id=mail.gmail_id, format="raw")
        try:
            raw = str(_call(request).get("raw") or "")
        except GoogleTrouble as trouble:
            if _status(trouble.error) == 404:
                return NOTHING  # deleted since it arrived
            raise
        if len(raw) > MOST_REPORT_BYTES * 2:
            return NOTHING
        try:
            return read_report(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except ValueError:
            return NOTHING


class GoogleTrouble(Exception):
    """A Gmail call failed; `error` is what the client raised, for failures.py to read."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _call(request: Any) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = request.execute(num_retries=0)
    except Exception as error:
        raise GoogleTrouble(error) from error
    return answer


def _status(error: Exception) -> int | None:
    return int(error.resp.status) if isinstance(error, HttpError) else None


def _history_since(gmail: Any, start: str) -> tuple[list[str], str]:
    """The ids of messages added since `start` (oldest first, once each) and the id reached."""
    added: dict[str, None] = {}
    page_token: str | None = None
    while True:
        request = (
            gmail.users()
            .history()
            .list(userId="me", startHistoryId=start, historyTypes=["messageAdded"], pageToken=page_token)
        )
        try:
            page = _call(request)
        except GoogleTrouble as trouble:
            if _status(trouble.error) == 404:
                raise HistoryExpired from trouble.error
            raise
        for record in page.get("history") or []:
            for change in record.get("messagesAdded") or []:
                added[str(change["message"]["id"])] = None
        page_token = page.get("nextPageToken")
        if not page_token:
            return list(added), str(page.get("historyId") or start)


def _recent(gmail: Any) -> Iterator[str]:
    """The ids of the mailbox's recent messages, at most MOST_SCANNED."""
    seen, page_token = 0, None
    while seen < MOST_SCANNED:
        page = _call(
            gmail.users().messages().list(userId="me", q=RECENT, pageToken=page_token, maxResults=100)
        )
        for message in page.get("messages") or []:
            seen += 1
            yield str(message["id"])
            if seen >= MOST_SCANNED:
                return
        page_token = page.get("nextPageToken")
        if not page_token:
            return
