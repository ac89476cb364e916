"""The Gmail adapter: sends EMAIL steps from the sender account's own mailbox through the Gmail API."""

from consumers.providers.gmail.mailbox_sessions import MailboxSessions
from consumers.providers.gmail.provider import GmailProvider

__all__ = ["GmailProvider", "MailboxSessions"]
