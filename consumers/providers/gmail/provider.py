"""The Gmail provider: sends a step's email from the sender account's own mailbox, exactly once.

Each send builds the message (consumers/providers/gmail/outgoing_mail.py), records which mailbox it
goes to (send_attempts.py), and calls `users.messages.send` once, with no retry of its own.
Before a message is sent again it is looked up by its Message-ID in every mailbox it may have
reached, so an answer lost on the way back never becomes a second email. Failures are mapped by
failures.py; a revoked grant takes the account out of the rotation and a daily limit parks it
(commands/sending/sender_health.py), and in both cases the step is retried, through another
account where the brand has one. Credentials are read per send and appear in no outcome or log.
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from uuid import UUID

from googleapiclient.errors import HttpError

from commands.audience.unsubscribe_tokens import UnsubscribeRequest, UnsubscribeTokens
from commands.sending.credentials import CredentialCipher, CredentialsUnavailable, decrypt_credentials
from commands.sending.providers import OutboundMessage, Provider, SendOutcome
from commands.sending.sender_health import park_for_today, require_reconnect
from consumers.providers.calls_in_flight import CallsInFlight
from consumers.providers.gmail import conversation_threads, send_attempts
from consumers.providers.gmail.failures import Failure, FailureKind, failure_of
from consumers.providers.gmail.mailbox_sessions import MailboxSessions, MissingGrant
from consumers.providers.gmail.outgoing_mail import Letter, UnsendableText, compose, message_id_for
from storage.database import Database

log = logging.getLogger(__name__)


class ThreadGone(Exception):
    """Gmail no longer has the thread a follow-up names (its owner deleted it): nothing was sent."""


class GmailProvider(Provider):
    def __init__(
        self,
        db: Database,
        cipher: CredentialCipher | None,
        sessions: MailboxSessions,
        unsubscribe_tokens: UnsubscribeTokens | None,
        public_base_url: str,
        calls: CallsInFlight | None = None,
    ) -> None:
        self.db = db
        self.calls = calls or CallsInFlight()  # only the HTTP call holds one of email's places
        self.cipher = cipher
        self.sessions = sessions
        self.unsubscribe_tokens = unsubscribe_tokens
        self.public_base_url = public_base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"GmailProvider({self.sessions!r})"

    def send(self, message: OutboundMessage) -> SendOutcome:
        key, account_id = message.message_key, UUID(message.sender_account_id)
        earlier, unsure = self._look_up(send_attempts.attempts_of(self.db, key))
        if earlier is not None:
            return SendOutcome(provider_message_id=earlier)
        if unsure:
            return SendOutcome(error="gmail: an earlier try could not be checked yet; not sent again")
        if self.unsubscribe_tokens is None:  # only without any key, when no credentials can be stored
            return SendOutcome(
                error="gmail: no unsubscribe secret (set UNSUBSCRIBE_SECRET or CREDENTIALS_KEY)"
            )
        campaign_id, contact_id = UUID(message.campaign_id), UUID(message.contact_id)
        message_id = message_id_for(key, message.sender)
        try:
            unsubscribe_url = self._unsubscribe_url(message, self.unsubscribe_tokens)
        except ValueError as unusable:  # ids that are not UUIDs: a bug upstream, not a provider error
            return SendOutcome(error=f"gmail: no unsubscribe link can be made: {unusable}", permanent=True)
        conversation = conversation_threads.conversation(self.db, campaign_id, contact_id, account_id)
        send_attempts.record_attempt(self.db, key, account_id, campaign_id, contact_id, message_id)
        try:
            try:
                sent = self._hand_over(Letter(message, message_id, unsubscribe_url, conversation), account_id)
            except ThreadGone:  # the mailbox's owner deleted the thread: the follow-up opens a new one
                sent = self._hand_over(Letter(message, message_id, unsubscribe_url), account_id)
        except UnsendableText as unusable:
            send_attempts.forget_attempt(self.db, key, account_id)
            return SendOutcome(error=f"gmail: the message cannot be built: {unusable}", permanent=True)
        except (MissingGrant, CredentialsUnavailable) as unusable:
            send_attempts.forget_attempt(self.db, key, account_id)
            return self._account_failed(account_id, unusable)
        except Exception as error:
            return self._failed(message, account_id, message_id, failure_of(error))
        self._accepted(key, account_id, campaign_id, contact_id, message_id, sent)
        return SendOutcome(provider_message_id=sent["id"])

    def _hand_over(self, letter: Letter, account_id: UUID) -> dict[str, Any]:
        """One `messages.send` call; ThreadGone when Gmail no longer knows the thread it names."""
        body: dict[str, Any] = {"raw": base64.urlsafe_b64encode(compose(letter)).decode()}
        if letter.conversation is not None:
            body["threadId"] = letter.conversation.thread_id
        gmail = self.sessions.gmail(account_id, self._grant(account_id))
        request = gmail.users().messages().send(userId="me", body=body)
        try:
            with self.calls.place("email"):
                sent: dict[str, Any] = request.execute(num_retries=0)
        except HttpError as error:
            if letter.conversation is not None and int(error.resp.status) == 404:
                raise ThreadGone(letter.conversation.thread_id) from error
            raise
        return sent

    def find_sent(self, message_key: str) -> str | None:
        found, _ = self._look_up(send_attempts.attempts_of(self.db, message_key))
        return found

    def _failed(
        self, message: OutboundMessage, account_id: UUID, message_id: str, failure: Failure
    ) -> SendOutcome:
        key = message.message_key
        if failure.kind is FailureKind.AMBIGUOUS:
            attempt = send_attempts.SendAttempt(
                key, account_id, UUID(message.campaign_id), UUID(message.contact_id), message_id, None
            )
            found, _ = self._look_up([attempt])
            if found is not None:
                return SendOutcome(provider_message_id=found)
            return SendOutcome(
                error=f"{failure.detail} (not found in the mailbox; checked again before a retry)"
            )
        send_attempts.forget_attempt(self.db, key, account_id)
        if failure.kind is FailureKind.GRANT_REVOKED:
            require_reconnect(self.db, account_id, failure.detail)
        elif failure.kind is FailureKind.DAILY_LIMIT:
            park_for_today(self.db, account_id)
            return SendOutcome(error=failure.detail, keep_quota=True)
        return SendOutcome(error=failure.detail, permanent=failure.permanent)

    def _account_failed(self, account_id: UUID, error: Exception) -> SendOutcome:
        if isinstance(error, MissingGrant):
            require_reconnect(self.db, account_id, str(error))
            return SendOutcome(error="gmail: the mailbox has no usable grant (reconnect required)")
        return SendOutcome(error=f"gmail: {error}")

    def _look_up(self, attempts: list[send_attempts.SendAttempt]) -> tuple[str | None, bool]:
        """Gmail's id of the message if a mailbox it was handed to has it; and whether a lookup failed."""
        unsure = False
        for attempt in attempts:
            if attempt.gmail_message_id is not None:
                return attempt.gmail_message_id, False
            try:
                gmail = self.sessions.gmail(attempt.account_id, self._grant(attempt.account_id))
                query = f"rfc822msgid:{attempt.message_id.strip('<>')}"
                request = gmail.users().messages().list(userId="me", q=query)
                with self.calls.place("email"):
                    found = request.execute(num_retries=0)
            except (MissingGrant, CredentialsUnavailable) as unusable:
                log.warning("gmail: could not look up an earlier send (%s)", unusable)
                unsure = True
                continue
            except Exception as error:
                log.warning("gmail: could not look up an earlier send (%s)", failure_of(error).detail)
                unsure = True
                continue
            messages = found.get("messages") or []
            if messages:
                self._accepted(
                    attempt.message_key,
                    attempt.account_id,
                    attempt.campaign_id,
                    attempt.contact_id,
                    attempt.message_id,
                    messages[0],
                )
                return str(messages[0]["id"]), False
        return None, unsure

    def _accepted(
        self,
        key: str,
        account_id: UUID,
        campaign_id: UUID,
        contact_id: UUID,
        message_id: str,
        sent: dict[str, Any],
    ) -> None:
        send_attempts.record_accepted(self.db, key, account_id, str(sent["id"]))
        conversation_threads.remember_message(
            self.db, campaign_id, contact_id, account_id, str(sent.get("threadId") or sent["id"]), message_id
        )

    def _grant(self, account_id: UUID) -> dict[str, str]:
        return decrypt_credentials(self.db, self.cipher, account_id)

    def _unsubscribe_url(self, message: OutboundMessage, tokens: UnsubscribeTokens) -> str:
        request = UnsubscribeRequest(
            UUID(message.brand_id), UUID(message.campaign_id), UUID(message.contact_id), message.to
        )
        return f"{self.public_base_url}/u/{tokens.token(request)}"
