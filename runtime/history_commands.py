"""The analysts' and auditors' commands: `events export`, `audit credits` and `audit consent`, read
from raw events, and the operators' `events reseal`, which seals old events' personal data in place."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from runtime.cli_settings import database_url_for, service_for, settings_for
from runtime.export_target import STDOUT, ReaderGone, check_target, export_target
from runtime.progress import Progress

T = TypeVar("T")

MAX_BATCH = 10_000  # events re-sealed in one transaction, at most


def events_export(args: argparse.Namespace) -> int:
    import psycopg

    from commands.application import CampaignApplication
    from projections.history.event_topics import topics_for
    from projections.history.export_formats import write_rows
    from projections.history.export_rows import ExportFilter, export_rows, parse_time
    from storage.database import event_store_env
    from storage.stored_events import events_table

    # Every argument is checked before anything is read or written: a bad one leaves no file.
    wanted = ExportFilter(
        since=parse_time(args.since) if args.since else None,
        until=parse_time(args.until) if args.until else None,
        types=tuple(name for given in args.type or [] for name in given.split(",") if name),
        brand_id=_brand(args.brand),
    )
    topics_for(list(wanted.types))
    check_target(args.out)
    where, label = ("standard output", "-") if args.out == STDOUT else (args.out, Path(args.out).name)
    progress = Progress(f"export {label}")
    # Only a connection and the event store's table name: not the whole service (its imports alone
    # would weigh 50 MB more in this process).
    with database_url_for(args) as url:
        store = CampaignApplication(env={**event_store_env(url, pool_size=1), "CREATE_TABLE": "n"})
        table = events_table(store)
        store.close()
        try:
            with psycopg.connect(url, autocommit=True) as conn, export_target(args.out) as file:
                written = write_rows(export_rows(conn, table, wanted, progress), file, args.format)
        except ReaderGone as gone:
            print(f"campaign-service: {gone}", file=sys.stderr)
            return 1
    progress.done(f"{written:,} events written to {where} ({args.format})")
    return 0


def events_reseal(args: argparse.Namespace) -> int:
    """Seal in place the personal data of events stored before sealing, brand by brand
    (commands/personal_data/resealing.py): a progress line per brand on stderr, a JSON summary on
    stdout; exit 1 when an aggregate's chain was found broken (it is left as it is)."""
    import json

    from commands.personal_data.resealing import brands_to_reseal, plain_events, reseal_brand
    from domain.errors import NotFound
    from runtime.operations import operator

    if not 1 <= args.batch_size <= MAX_BATCH:  # a batch holds every writer: keep it short
        raise ValueError(f"--batch-size {args.batch_size}: 1 to {MAX_BATCH:,}")
    service = service_for(args)
    try:
        store, url = service.store, service.db.url
        if args.brand is not None:
            brands = [UUID(_brand(args.brand))]
            if service.db.fetch_one("SELECT 1 FROM brands WHERE id = %s", (brands[0],)) is None:
                raise NotFound(f"brand {brands[0]}")
        else:
            brands = brands_to_reseal(store, url)
        summary, resealed, refused = [], 0, 0
        for brand in brands:
            progress, target = Progress(f"events reseal {brand}"), plain_events(store, url, brand)
            done = reseal_brand(
                store,
                url,
                brand,
                operator(),
                service.clock.now,
                batch_size=args.batch_size,
                progress=partial(_shown, progress, target),
            )
            progress.done(f"{done.events:,} events re-sealed in {done.batches:,} batches")
            for broken in done.refused:
                print(f"events reseal: left as it is, its chain is broken: {broken}", file=sys.stderr)
            resealed, refused = resealed + done.events, refused + len(done.refused)
            summary.append(
                {
                    "brand_id": str(brand),
                    "resealed": done.events,
                    "batches": done.batches,
                    "refused": [str(broken) for broken in done.refused],
                }
            )
    finally:
        service.close()
    print(json.dumps({"brands": summary, "resealed": resealed, "refused": refused}))
    return 1 if refused else 0


def _shown(progress: Progress, target: int, reached: int) -> None:
    progress(reached, max(reached, target))


def audit_credits(args: argparse.Namespace) -> int:
    from projections.history.credit_audit import audit_brand
    from runtime.audit_report import print_report

    audit = _read_brand(args, audit_brand)
    if audit is None:
        return 2
    print_report(audit, args.format, sys.stdout)
    problem = audit.chain_break or (audit.ledger.violations[0] if audit.ledger.violations else None)
    if problem is not None:
        kind = "tampered history" if audit.chain_break else "broken invariant"
        print(f"audit credits: FAILED, {kind}: {problem}", file=sys.stderr)
        return 1
    print(f"audit credits: clean ({audit.stored_events:,} stored events checked)", file=sys.stderr)
    return 0


def audit_consent(args: argparse.Namespace) -> int:
    from projections.history.consent_audit import audit_brand_consent
    from runtime.consent_report import print_report

    report = _read_brand(args, audit_brand_consent)
    if report is None:
        return 2
    print_report(report, args.format, sys.stdout)
    violations = report.consent.violations
    if report.chain_break is not None:
        print(f"audit consent: FAILED, tampered history: {report.chain_break}", file=sys.stderr)
        return 1
    if violations:
        print(f"audit consent: FAILED, first violation: {violations[0]}", file=sys.stderr)
        return 1
    checked = report.consent.sends_checked
    print(f"audit consent: clean ({checked:,} sends checked)", file=sys.stderr)
    return 0


def _read_brand(args: argparse.Namespace, audit: Callable[[Any, Any, UUID], T]) -> T | None:
    """`audit(store, connection, brand)` on the event store of `args`; None, said on stderr, for a
    brand the store does not hold."""
    import psycopg

    from commands.application import CampaignApplication
    from commands.personal_data.sealing import PersonalDataSeal
    from commands.sending.credentials import cipher_for
    from storage.database import Database, event_store_env

    brand = UUID(_brand(args.brand))
    settings = settings_for(args)
    key = settings.credentials_key
    with database_url_for(args) as url:
        store = CampaignApplication(env={**event_store_env(url, pool_size=1), "CREATE_TABLE": "n"})
        # With the key, events stored before sealing are matched by the same keyed hash as the
        # sealed ones (the consent audit matches addresses by hash where it has one).
        folder = settings.data_dir if settings.database_url is None else None
        cipher = cipher_for(key.get_secret_value() if key else None, folder)
        keys = Database(url, max_size=1) if cipher is not None else None
        if keys is not None and cipher is not None:
            store.seal_personal_data(PersonalDataSeal(keys, cipher))
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                return audit(store, conn, brand)
        except LookupError as missing:
            print(f"campaign-service: {missing}", file=sys.stderr)
            return None
        finally:
            store.close()
            if keys is not None:
                keys.close()


def _brand(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return str(UUID(text))
    except ValueError:
        raise ValueError(f"bad brand id {text!r}: a brand id is a UUID") from None


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`events export`, `audit credits` and `audit consent`, on the top-level parser's subcommands."""
    events = commands.add_parser("events", help="the event history")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    export = events_commands.add_parser("export", help="export events for analysts")
    export.add_argument("--data-dir", type=Path, help="embedded PostgreSQL folder (also DATA_DIR)")
    export.add_argument("--since", help="only events that occurred at or after this time (ISO 8601, UTC)")
    export.add_argument("--until", help="only events that occurred before this time")
    export.add_argument("--type", action="append", help="only this event type (repeat, or comma-separate)")
    export.add_argument("--brand", help="only this brand's events")
    export.add_argument("--format", choices=["jsonl", "csv", "parquet"], required=True)
    export.add_argument(
        "--out",
        required=True,
        help="the file to write (replaced only once complete), a FIFO (written through), or - for "
        "standard output; a symbolic link, a device, a socket or a folder is refused",
    )
    export.set_defaults(func=events_export)
    reseal = events_commands.add_parser(
        "reseal",
        help="seal in place the personal data of events stored before sealing (once, after upgrading; "
        "safe to run again)",
    )
    reseal.add_argument("--data-dir", type=Path, help="embedded PostgreSQL folder (also DATA_DIR)")
    reseal.add_argument("--brand", help="only this brand's events (default: every brand that has some)")
    reseal.add_argument(
        "--batch-size",
        type=int,
        default=200,
        metavar="N",
        help=f"events rewritten per transaction (200; at most {MAX_BATCH:,})",
    )
    reseal.set_defaults(func=events_reseal)

    audit = commands.add_parser("audit", help="audits rebuilt from the raw events")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    credits = audit_commands.add_parser(
        "credits", help="a brand's credit ledger with every invariant checked"
    )
    credits.add_argument("--data-dir", type=Path, help="embedded PostgreSQL folder (also DATA_DIR)")
    credits.add_argument("--brand", required=True, help="the brand's id")
    credits.add_argument("--format", choices=["table", "json", "csv"], default="table")
    credits.set_defaults(func=audit_credits)
    consent = audit_commands.add_parser(
        "consent",
        help="a brand's sends replayed beside its suppressions, opt-outs, quiet hours and suspensions",
    )
    consent.add_argument("--data-dir", type=Path, help="embedded PostgreSQL folder (also DATA_DIR)")
    consent.add_argument("--brand", required=True, help="the brand's id")
    consent.add_argument(
        "--format", choices=["table", "json"], default="table", help="table (default) or json"
    )
    consent.set_defaults(func=audit_consent)
