"""Supervised background loops for the enrollment process, the scheduler, cron and settlement."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def run_periodically(
    name: str,
    work: Callable[[], int],
    stop: threading.Event,
    interval: float,
    nap: Callable[[float], None] | None = None,
) -> None:
    """Call `work` until stop; again at once while it reports progress, else after `interval`.

    An exception is logged and the loop goes on: a background role never dies silently.
    """
    while not stop.is_set():
        try:
            progressed = work()
        except Exception:
            log.exception("%s failed; retrying", name)
            progressed = 0
            stop.wait(1.0)
        if not progressed:
            (nap or stop.wait)(interval)  # the dev clock's nap ends early when time is moved
