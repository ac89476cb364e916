"""Why a step was withdrawn for good: the contact replied, unsubscribed, texted STOP, or the address
is on the brand's suppression list for another reason (an operator's entry, a hard bounce, an
opt-out the provider reported, or the check right before sending).

StepWithdrawn carries the cause as a `WithdrawalCause` since its version 2 (decision record 21);
its `reason` keeps the words shown to clients. The two opt-outs are worded here, so the suppression
list's words for them are written and recognised in one place: `WithdrawalCause.of_words` reads
the words of a withdrawal stored before version 2 (the upcaster) and of a suppression-list entry,
which stores words only.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

REPLIED = "the contact replied"  # the reason of the steps a reply withdraws
ONE_CLICK_WORDS = "unsubscribed (one-click"
STOP_KEYWORD_WORDS = "SMS keyword"


class WithdrawalCause(StrEnum):
    """Why a step was withdrawn; its value is what StepWithdrawn stores."""

    REPLIED = "replied"  # the contact replied: nothing more is sent on any channel
    UNSUBSCRIBED = "unsubscribed"  # the one-click (RFC 8058) unsubscribe link of an email
    STOP_KEYWORD = "stop_keyword"  # a STOP-type text
    SUPPRESSED = "suppressed"  # the address is on the suppression list for any other reason

    @property
    def is_unsubscribe(self) -> bool:
        """The contact asked to hear no more (one-click or STOP): the `unsubscribed` metric."""
        return self in (WithdrawalCause.UNSUBSCRIBED, WithdrawalCause.STOP_KEYWORD)

    @classmethod
    def of_words(cls, words: str) -> WithdrawalCause:
        """The cause the words of a withdrawal or of a suppression-list entry name.

        Every withdrawal ever recorded was a reply or a suppression, so words that name neither a
        reply nor an opt-out (an operator's entry, a bounce, anything unknown) are a suppression.
        """
        if words == REPLIED:
            return cls.REPLIED
        if ONE_CLICK_WORDS in words:
            return cls.UNSUBSCRIBED
        if STOP_KEYWORD_WORDS in words:
            return cls.STOP_KEYWORD
        return cls.SUPPRESSED


def one_click_unsubscribe_words(campaign_id: UUID) -> str:
    """The suppression-list reason of a one-click unsubscribe from a campaign's email."""
    return f"{ONE_CLICK_WORDS}, campaign {campaign_id})"


def stop_keyword_words(keyword: str) -> str:
    """The suppression-list reason of a STOP-type text (`keyword` as the contact sent it)."""
    return f"{STOP_KEYWORD_WORDS} {keyword}"
