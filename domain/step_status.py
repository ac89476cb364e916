"""Where one step of an enrollment stands, and the sets of statuses the rules ask about.

A status is rebuilt from the enrollment's events, never stored in them: `FINAL` ends a step for
good, `IN_FLIGHT` is with a channel worker, `SENT_ONES` reached the provider (so it may be
opened, clicked or reported on). Opens and clicks are not statuses but facts beside the status,
so a delivery report arriving after an open still lands.
"""

from __future__ import annotations

from enum import StrEnum


class StepStatus(StrEnum):
    """Where one step of an enrollment stands; rebuilt from the events, never stored in them."""

    PENDING = "pending"  # not dispatched yet, or deferred back to wait
    DISPATCHED = "dispatched"  # handed to a channel worker
    ATTEMPTED = "attempted"  # a provider call was (about to be) made under the step's key
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # a dispatch taken back (the campaign was paused); may be dispatched again
    WITHDRAWN = "withdrawn"  # ended for good unsent (the address was suppressed, or the contact replied)
    DELIVERED = "delivered"  # sent, and the provider reported it delivered (a voicemail: played to a machine)
    UNDELIVERED = "undelivered"  # sent, and the provider reported it could not deliver it (a bounce)
    ANSWERED_BY_HUMAN = "answered_by_human"  # a voicemail drop a person picked up: hung up, nothing played


DELIVERY_REPORTS = frozenset({StepStatus.DELIVERED, StepStatus.UNDELIVERED, StepStatus.ANSWERED_BY_HUMAN})
FINAL = frozenset({StepStatus.SENT, StepStatus.FAILED, StepStatus.WITHDRAWN}) | DELIVERY_REPORTS
IN_FLIGHT = frozenset({StepStatus.DISPATCHED, StepStatus.ATTEMPTED})
SENT_ONES = frozenset({StepStatus.SENT}) | DELIVERY_REPORTS  # the provider took it: it may be opened
