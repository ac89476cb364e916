"""Supervised background loops for the log followers, the enroller, the follow-ups and cron.

A loop never dies silently: an error is logged and the pass is tried again. Transient trouble (the
database or the broker away) is logged in one line and waited out with a growing pause, up to a
few seconds, so an outage neither floods the log with tracebacks nor spins; anything else is a
bug or a poison item that containment did not catch, and is logged with its traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from storage.containment import describe, pause_after, transient

log = logging.getLogger(__name__)


def run_periodically(
    name: str,
    work: Callable[[], int],
    stop: threading.Event,
    interval: float,
    nap: Callable[[float], None] | None = None,
    passed: Callable[[], None] | None = None,
) -> None:
    """Call `work` until stop; again at once while it reports progress, else after `interval`.

    `passed` is told after each pass that ended without an error (tests wait on it: a pass that
    began after a moment has seen everything written before it)."""
    failures = 0
    while not stop.is_set():
        try:
            progressed = work()
        except Exception as error:
            failures += 1
            pause = pause_after(failures)
            if transient(error):
                log.warning("%s waits %.1f s: %s", name, pause, describe(error))
            else:
                log.exception("%s failed; retrying in %.1f s", name, pause)
            stop.wait(pause)
            continue
        if passed:
            passed()
        if failures:
            log.info("%s is running again after %d failed passes", name, failures)
            failures = 0
        if not progressed:
            (nap or stop.wait)(interval)  # the dev clock's nap ends early when time is moved
