"""The operators' commands: create a brand and manage its API keys, rebuild read models, list and hand back parked items,
apply and list schema migrations. Each builds only what it needs from the same settings as `serve`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import UTC, datetime
from functools import partial

from runtime.cli_settings import database_url_for, service_for


def create_brand(args: argparse.Namespace) -> int:
    from commands.credits.brands import create_brand as create
    from domain.credit_ledger import Plan
    from domain.errors import InvalidInput

    service = service_for(args)
    try:
        brand = create(service.store, service.db, args.name, Plan(args.plan), service.clock.now(), operator())
    except InvalidInput as bad:
        print(f"campaign-service: {bad}", file=sys.stderr)
        return 2
    finally:
        service.close()
    print(json.dumps({"brand_id": str(brand.brand_id), "api_key": brand.api_key}))
    return 0


def rfc3339(value: object) -> str:
    """How the command line prints a value JSON has no type for: a time as RFC 3339 UTC (`...Z`),
    anything else (an id) as its string."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def operator() -> str:
    """Who runs this command, as the events it records name them (`cli: <user>`)."""
    try:
        return f"cli: {getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a container's)
        return "cli"


def create_key(args: argparse.Namespace) -> int:
    from commands.access.api_keys import issue_api_key

    service = service_for(args)
    try:
        key = issue_api_key(
            service.store, service.db, args.brand_id, args.name, operator(), service.clock.now()
        )
    finally:
        service.close()
    shown = {"id": str(key.id), "name": key.name, "prefix": key.prefix, "api_key": key.api_key}
    print(json.dumps({**shown, "created_at": rfc3339(key.created_at)}))
    return 0


def list_keys(args: argparse.Namespace) -> int:
    from commands.access.api_keys import api_keys, api_keys_of

    service = service_for(args)
    try:
        api_keys_of(service.store, service.db, args.brand_id, service.clock.now())  # NotFound if unknown
        rows, cursor = api_keys(service.db, args.brand_id, 500, None)
        while cursor:
            more, cursor = api_keys(service.db, args.brand_id, 500, cursor)
            rows += more
    finally:
        service.close()
    print(json.dumps(rows, default=rfc3339, indent=2))
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    from commands.access.api_keys import revoke_api_key

    service = service_for(args)
    try:
        revoke_api_key(service.store, service.db, args.brand_id, args.key_id, operator(), service.clock.now())
    finally:
        service.close()
    print(json.dumps({"id": str(args.key_id), "revoked": True}))
    return 0


def erase_contact(args: argparse.Namespace) -> int:
    """Erase the person with that address in the brand (commands/personal_data/erase_person.py)."""
    from commands.personal_data.erase_person import erase_person

    service = service_for(args)
    try:
        erased = erase_person(
            service.store, service.db, args.brand, args.address, operator(), service.clock.now()
        )
    finally:
        service.close()
    answer = {"contact_ids": [str(c) for c in erased.contact_ids], "addresses": erased.addresses}
    print(json.dumps({**answer, "erased": True, "first_time": erased.first_time}))
    return 0


def message_retention(args: argparse.Namespace) -> int:
    """Show, or with --message-days set, how long the brand keeps message bodies and payloads."""
    from commands.personal_data.retention import retention_days, set_retention_days
    from domain.errors import NotFound

    service = service_for(args)
    try:
        if service.db.fetch_one("SELECT 1 FROM brands WHERE id = %s", (args.brand_id,)) is None:
            raise NotFound(f"brand {args.brand_id}")
        if args.message_days is None:
            days = retention_days(service.db, args.brand_id)
        else:
            days = set_retention_days(service.db, args.brand_id, args.message_days, service.clock.now())
    finally:
        service.close()
    print(json.dumps({"brand_id": str(args.brand_id), "message_days": days}))
    return 0


def replay(args: argparse.Namespace) -> int:
    """Rebuild read models into copies and swap them in: the service keeps answering meanwhile."""
    from projections.shadow_rebuild import RebuildRunning, rebuild
    from runtime.bootstrap import PROJECTIONS, event_store_alone
    from runtime.progress import Progress

    chosen = [p for p in PROJECTIONS if args.projection in (None, p.name)]
    if not chosen:
        names = ", ".join(p.name for p in PROJECTIONS)
        print(f"campaign-service: no projection {args.projection!r}; there are: {names}", file=sys.stderr)
        return 2
    service = service_for(args)
    try:
        progress = Progress("replay " + ", ".join(p.name for p in chosen))
        try:
            # A second process fills half the read models when there is a second core to run it.
            child = service.parts.child_settings
            helper = partial(event_store_alone, child) if child and _cores() > 1 else None
            through = rebuild(service.store, service.db, chosen, progress=progress, helper=helper)
        except RebuildRunning as running:
            print(f"campaign-service: {running}", file=sys.stderr)
            return 1
        progress.done(f"{progress.reached:,} log positions replayed")
    finally:
        service.close()
    for name, position in through.items():
        print(f"{name}: rebuilt through log position {position}", file=sys.stderr)
    return 0


def _cores() -> int:
    """The cores this process may run on (all of the machine's where that cannot be told)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def parked_list(args: argparse.Namespace) -> int:
    from storage import parked

    service = service_for(args)
    try:
        rows = parked.listing(service.db, args.follower)
    finally:
        service.close()
    if args.format == "json":
        print(json.dumps(rows, default=str, indent=2))
        return 0
    if not rows:
        print("no parked items" + (f" for {args.follower}" if args.follower else ""))
        return 0
    print(f"{'id':>5}  {'follower':<28} {'item':<38} {'brand':<36} {'status':<8} {'tries':>5}  last seen")
    for row in rows:
        print(
            f"{row['id']:>5}  {row['follower']:<28} {row['item']:<38} {row['brand_id'] or '-'!s:<36} "
            f"{row['status']:<8} {row['attempts']:>5}  {row['last_seen']:%Y-%m-%d %H:%M:%S}\n"
            f"       first seen {row['first_seen']:%Y-%m-%d %H:%M:%S}: {row['error']}"
        )
    return 0


def parked_retry(args: argparse.Namespace) -> int:
    from storage import parked

    if not args.all and args.id is None:
        print("campaign-service: name a parked item's ID, or --all", file=sys.stderr)
        return 2
    service = service_for(args)
    try:
        handed = parked.hand_back(service.db, None if args.all else [args.id])
    finally:
        service.close()
    if not handed and not args.all:
        print(f"campaign-service: no parked item {args.id}", file=sys.stderr)
        return 1
    print(f"handed back {handed} item(s); their followers apply them again on their next pass")
    return 0


def db_upgrade(args: argparse.Namespace) -> int:
    from storage.schema import status, upgrade

    with database_url_for(args) as url:
        done = upgrade(url)
        current = [state.id for state in status(url) if state.applied_at is not None]
    for migration_id in done:
        print(f"applied {migration_id}")
    if not done:
        print(f"nothing to apply: the schema is at {current[-1] if current else 'no migration'}")
    return 0


def db_status(args: argparse.Namespace) -> int:
    from storage.schema import status

    with database_url_for(args) as url:
        states = status(url)
    width = max([len(state.id) for state in states] + [len("migration")])
    print(f"{'migration':<{width}}  {'state':<8} applied at (UTC)")
    for state in states:
        word = "pending" if state.applied_at is None else "applied"
        when = f"{state.applied_at:%Y-%m-%d %H:%M:%S}" if state.applied_at else "-"
        note = "" if state.known else "  (not in this release: applied by a newer one)"
        print(f"{state.id:<{width}}  {word:<8} {when}{note}")
    return 0
