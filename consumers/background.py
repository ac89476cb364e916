"""Supervised background loops: the enrollment process and (later) the scheduler and cron jobs."""

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
    wake: threading.Event | None = None,
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
            if wake is not None:
                wake.wait(interval)
                wake.clear()
            else:
                stop.wait(interval)
