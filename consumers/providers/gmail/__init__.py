"""The Gmail adapter: sends EMAIL steps from the sender account's own mailbox through the Gmail API,
and reads the mailbox's replies and bounces."""

from consumers.providers.gmail.mailbox_sessions import MailboxSessions
from consumers.providers.gmail.provider import GmailProvider
from consumers.providers.gmail.reply_poller import ReplyPoller

__all__ = ["GmailProvider", "MailboxSessions", "ReplyPoller"]
