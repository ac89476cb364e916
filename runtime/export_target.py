"""Where `events export --out` writes: a regular file replaced whole, a FIFO or standard output
written through, and nothing else.

A regular file (or a new one) is written to a temporary file beside it and renamed over it only
once complete, so a reader never finds half an export at the path. A FIFO (`mkfifo`) and `-`
(standard output) are streams: the export is written into them as it goes. Every other kind of
file is refused before anything is read: a device node (replacing `/dev/null` with a regular file
would break the machine), a socket, a folder, and a symbolic link (its target is not followed and
the link is not replaced: the caller names the target's own path if that is what they mean).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

STDOUT = "-"


class UnwritableTarget(ValueError):
    """`--out` names something the export must not write to, or cannot; says which and why."""


class ReaderGone(Exception):
    """The reader of standard output or of the FIFO closed it before the export was complete."""


def check_target(out: str) -> None:
    """Refuse a target the export will not write to, before anything is read from the database."""
    if out == STDOUT:
        if sys.stdout is None:
            raise UnwritableTarget("cannot write the export to standard output: it is closed")
        return
    if not out:
        raise UnwritableTarget("--out is empty: give a file, a FIFO, or - for standard output")
    kind = _kind(Path(out))
    if kind not in ("missing", "regular file", "FIFO"):
        raise UnwritableTarget(f"cannot write the export to {out}: it is {_refusal(kind)}")


@contextlib.contextmanager
def export_target(out: str) -> Iterator[BinaryIO]:
    """The stream to write the export into; for a regular file, renamed into place on success."""
    check_target(out)
    if out == STDOUT:
        try:
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # Nothing more can reach the reader; point the descriptor at /dev/null so the
            # interpreter's own flush at exit does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise ReaderGone("standard output was closed before the export was complete") from None
        return
    path = Path(out)
    if _kind(path) == "FIFO":
        # O_NOFOLLOW: a FIFO swapped for a link since the check is refused, not followed.
        try:
            handle = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            raise UnwritableTarget(f"cannot write the export to {out}: {error.strerror or error}") from None
        try:
            with os.fdopen(handle, "wb") as fifo:
                yield fifo
        except BrokenPipeError:
            raise ReaderGone(f"the reader of {out} closed it before the export was complete") from None
        return
    with _replaced_atomically(path) as file:
        yield file


@contextlib.contextmanager
def _replaced_atomically(path: Path) -> Iterator[BinaryIO]:
    """A temporary file in `path`'s folder, renamed to `path` when the block ends without error."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
    except OSError as error:
        raise UnwritableTarget(f"cannot write the export to {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.chmod(temporary, 0o644)
        kind = _kind(path)  # again: what stood at the path may have changed during the export
        if kind not in ("missing", "regular file"):
            raise UnwritableTarget(
                f"cannot write the export to {path}: it became {_refusal(kind)} during the export"
            )
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _kind(path: Path) -> str:
    try:
        mode = path.lstat().st_mode  # lstat: a link is judged itself, never its target
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        raise UnwritableTarget(f"cannot write the export to {path}: {error.strerror or error}") from None
    kinds = (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISLNK, "symbolic link"),
        (stat.S_ISDIR, "folder"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    )
    return next((name for test, name in kinds if test(mode)), "special file")


def _refusal(kind: str) -> str:
    if kind == "symbolic link":
        return "a symbolic link (not followed, not replaced: give the path of its target, or - for standard output)"
    return f"a {kind}; write to a regular file, a FIFO, or - for standard output"
