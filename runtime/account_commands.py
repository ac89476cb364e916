"""The operators' commands for a brand's account: `brand list|show|plan|suspend|reinstate` and
`credits grant`. Each prints JSON (or a table) and exits 0; an unknown brand exits 1, bad input
(an amount out of 1..10,000,000, an empty reference or reason) exits 2, with the reason on stderr.
Plan changes and suspensions are recorded as done by `cli: <the operating system's user>`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any
from uuid import UUID

from runtime.cli_settings import service_for
from runtime.operations import operator, rfc3339

PLANS = ["basic", "standard", "premium"]
MAX_PURCHASE = 10_000_000  # as domain/credit_ledger.py: checked here before the service is built


def _run(args: argparse.Namespace, work: Callable[[Any], Any]) -> int:
    """Build the service, run `work` on it and print its answer as JSON; 1 when a brand is not
    found, 2 for input the use case refuses."""
    from domain.errors import InvalidInput, NotFound

    service = service_for(args)
    try:
        answer = work(service)
    except NotFound as missing:
        print(f"campaign-service: {missing} does not exist", file=sys.stderr)
        return 1
    except InvalidInput as bad:
        print(f"campaign-service: {bad}", file=sys.stderr)
        return 2
    finally:
        service.close()
    if answer is not None:
        print(json.dumps(answer, default=rfc3339, indent=2))
    return 0


def _table(accounts: list[dict[str, Any]]) -> None:
    print(
        f"{'id':<36}  {'name':<24} {'plan':<8} {'balance':>10}  {'status':<9}  {'renews at (UTC)':<16}  keys"
    )
    for a in accounts:
        print(
            f"{a['id']!s:<36}  {a['name'][:24]:<24} {a['plan'] or '-':<8} {a['balance']:>10}  "
            f"{a['status']:<9}  {a['renews_at']:%Y-%m-%d %H:%M}  {a['key_count']:>4}"
        )


def brand_list(args: argparse.Namespace) -> int:
    from commands.credits.brand_accounts import brand_accounts

    def listing(c: Any) -> list[dict[str, Any]]:
        items, cursor = brand_accounts(c.store, c.db, c.clock.now())
        while cursor:
            more, cursor = brand_accounts(c.store, c.db, c.clock.now(), cursor=cursor)
            items += more
        return items

    if args.format == "json":
        return _run(args, listing)
    return _run(args, lambda c: _table(listing(c)))


def brand_show(args: argparse.Namespace) -> int:
    from commands.credits.brand_accounts import brand_account

    def show(c: Any) -> dict[str, Any] | None:
        account = brand_account(c.store, c.db, args.id, c.clock.now())
        if args.format == "json":
            return account
        _table([account])
        if account["suspension_reason"]:
            print(
                f"suspended since {account['suspended_at']:%Y-%m-%d %H:%M:%S}: {account['suspension_reason']}"
            )
        return None

    return _run(args, show)


def _then_show(args: argparse.Namespace, change: Callable[[Any], object]) -> int:
    from commands.credits.brand_accounts import brand_account

    def changed(c: Any) -> dict[str, Any]:
        change(c)
        return brand_account(c.store, c.db, args.id, c.clock.now())

    return _run(args, changed)


def brand_plan(args: argparse.Namespace) -> int:
    from commands.credits.brand_standing import change_plan
    from domain.credit_ledger import Plan

    return _then_show(
        args, lambda c: change_plan(c.store, c.db, args.id, Plan(args.plan), operator(), c.clock.now())
    )


def brand_suspend(args: argparse.Namespace) -> int:
    from commands.credits.brand_standing import suspend_brand

    return _then_show(
        args, lambda c: suspend_brand(c.store, c.db, args.id, args.reason, operator(), c.clock.now())
    )


def brand_reinstate(args: argparse.Namespace) -> int:
    from commands.credits.brand_standing import reinstate_brand

    return _then_show(args, lambda c: reinstate_brand(c.store, c.db, args.id, operator(), c.clock.now()))


def credits_grant(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from commands.credits.grant_credits import grant_credits

    if not 1 <= args.amount <= MAX_PURCHASE:
        print(
            f"campaign-service: --amount is 1 to {MAX_PURCHASE:,} credits, not {args.amount}", file=sys.stderr
        )
        return 2

    def grant(c: Any) -> dict[str, Any]:
        granted = grant_credits(c.store, args.brand, args.amount, args.reference, args.reason, c.clock.now())
        return asdict(granted)

    return _run(args, grant)


def add_commands(
    commands: Any,
    brand_commands: Any,
    with_data_dir: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    """`brand list|show|plan|suspend|reinstate` under `brand`, and `credits grant`."""
    listing = with_data_dir(
        brand_commands.add_parser("list", help="brands with plan, balance, status, renewal, keys")
    )
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(func=brand_list)
    show = with_data_dir(brand_commands.add_parser("show", help="one brand's account"))
    show.add_argument("id", type=UUID)
    show.add_argument("--format", choices=["table", "json"], default="table")
    show.set_defaults(func=brand_show)
    plan = with_data_dir(
        brand_commands.add_parser("plan", help="change the plan (granted from the next renewal)")
    )
    plan.add_argument("id", type=UUID)
    plan.add_argument("plan", choices=PLANS)
    plan.set_defaults(func=brand_plan)
    suspend = with_data_dir(
        brand_commands.add_parser("suspend", help="refuse its API calls and send nothing of it")
    )
    suspend.add_argument("id", type=UUID)
    suspend.add_argument("--reason", required=True)
    suspend.set_defaults(func=brand_suspend)
    reinstate = with_data_dir(brand_commands.add_parser("reinstate", help="let a suspended brand go on"))
    reinstate.add_argument("id", type=UUID)
    reinstate.set_defaults(func=brand_reinstate)

    credits = commands.add_parser("credits", help="a brand's credits")
    credit_commands = credits.add_subparsers(dest="credits_command", required=True)
    grant = with_data_dir(
        credit_commands.add_parser("grant", help="add purchased credits, once per reference")
    )
    grant.add_argument("--brand", type=UUID, required=True)
    grant.add_argument("--amount", type=int, required=True, help="credits, 1..10,000,000")
    grant.add_argument("--reference", required=True, help="the invoice or payment id")
    grant.add_argument("--reason", help='default "purchase"')
    grant.set_defaults(func=credits_grant)
