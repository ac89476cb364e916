"""The analysts' and auditors' commands: `events export` and `audit credits`, read from raw events."""

from __future__ import annotations

import argparse
from pathlib import Path

from runtime.cli_settings import container_for
from runtime.progress import Progress


def events_export(args: argparse.Namespace) -> int:
    import psycopg

    from projections.history.event_catalog import topics_for
    from projections.history.export_formats import replaced_atomically, write_rows
    from projections.history.export_rows import ExportFilter, export_rows, parse_time
    from storage.stored_events import events_table

    # Every argument is checked before anything is read or written: a bad one leaves no file.
    wanted = ExportFilter(
        since=parse_time(args.since) if args.since else None,
        until=parse_time(args.until) if args.until else None,
        types=tuple(name for given in args.type or [] for name in given.split(",") if name),
        brand_id=_brand(args.brand),
    )
    topics_for(list(wanted.types))
    out = Path(args.out)
    progress = Progress(f"export {out.name}")
    container = container_for(args)
    try:
        table = events_table(container.app)
        with psycopg.connect(container.db.url) as conn, replaced_atomically(out) as file:
            written = write_rows(export_rows(conn, table, wanted, progress), file, args.format)
    finally:
        container.close()
    progress.done(f"{written:,} events written to {out} ({args.format})")
    return 0


def _brand(text: str | None) -> str | None:
    from uuid import UUID

    if text is None:
        return None
    try:
        return str(UUID(text))
    except ValueError:
        raise ValueError(f"bad brand id {text!r}: a brand id is a UUID") from None


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`events export` and `audit credits`, on the top-level parser's subcommands."""
    events = commands.add_parser("events", help="the event history")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    export = events_commands.add_parser("export", help="export events for analysts")
    export.add_argument("--data-dir", type=Path, help="embedded PostgreSQL folder (also DATA_DIR)")
    export.add_argument("--since", help="only events that occurred at or after this time (ISO 8601, UTC)")
    export.add_argument("--until", help="only events that occurred before this time")
    export.add_argument("--type", action="append", help="only this event type (repeat, or comma-separate)")
    export.add_argument("--brand", help="only this brand's events")
    export.add_argument("--format", choices=["jsonl", "csv", "parquet"], required=True)
    export.add_argument("--out", required=True, help="the file to write (replaced only once complete)")
    export.set_defaults(func=events_export)
