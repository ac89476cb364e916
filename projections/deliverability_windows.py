"""Read model: the windows the deliverability guard looks at, one row per send with whether it
bounced hard or its contact opted out (decision record 0024).

A send (`StepSent`) adds a row at its log position; a hard bounce (`StepUndelivered` with `hard`)
or an opt-out (`ContactOptedOut`, against the step it answered) marks its row and stamps the
outcome's position, which the guard follows (`outcomes_after`) to know which windows to look at
again. A campaign's window is its last sends on a channel after its last resume
(`CampaignResumed`: a user's resume starts the window afresh); a mailbox's is its last sends after
its owner resumed it (`sender_accounts.deliverability_after`, a position of this table). A batch
costs a few statements: the sends go in with one INSERT, the outcomes with one UPDATE each kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier

from domain.campaign import Campaign
from domain.deliverability import Window
from domain.enrollment import Enrollment
from storage.database import Database
from storage.row_sets import insert_rows, update_rows

SEND_COLUMNS = [
    ("enrollment_id", "uuid"),
    ("step_id", "text"),
    ("campaign_id", "uuid"),
    ("channel", "text"),
    ("sender_account_id", "text"),
    ("position", "bigint"),
]
ROW_KEY = [("enrollment_id", "uuid"), ("step_id", "text")]


@dataclass(frozen=True)
class Outcome:
    """A window that an outcome after the guard's position changed: a campaign's on a channel, and
    the mailbox (or number) that made the send."""

    campaign_id: UUID
    channel: str
    sender_account_id: str


class DeliverabilityWindows:
    name = "deliverability_windows"
    tables = ("deliverability_sends", "deliverability_window_starts")
    events = (
        Enrollment.StepSent,
        Enrollment.StepUndelivered,
        Enrollment.ContactOptedOut,
        Campaign.CampaignResumed,
    )

    def reset(self, cur: Any) -> None:
        cur.execute("DELETE FROM deliverability_sends")
        cur.execute("DELETE FROM deliverability_window_starts")

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        sends: list[tuple[Any, ...]] = []
        bounces: list[tuple[Any, ...]] = []
        opt_outs: list[tuple[Any, ...]] = []
        for position, event in events:
            if isinstance(event, Enrollment.StepSent):
                key = (event.originator_id, event.step_id)
                sends.append((*key, event.campaign_id, event.channel, event.sender_account_id, position))
            elif isinstance(event, Enrollment.StepUndelivered) and event.hard:
                bounces.append((position, event.originator_id, event.step_id))
            elif isinstance(event, Enrollment.ContactOptedOut):
                opt_outs.append((position, event.originator_id, event.step_id))
            elif isinstance(event, Campaign.CampaignResumed):
                self._flush(cur, sends, bounces, opt_outs)
                sends, bounces, opt_outs = [], [], []
                cur.execute(
                    """INSERT INTO deliverability_window_starts (campaign_id, after_position)
                       VALUES (%s, %s) ON CONFLICT (campaign_id)
                       DO UPDATE SET after_position = EXCLUDED.after_position""",
                    (event.originator_id, position),
                )
        self._flush(cur, sends, bounces, opt_outs)

    @staticmethod
    def _flush(cur: Any, sends: list[Any], bounces: list[Any], opt_outs: list[Any]) -> None:
        insert_rows(cur, "deliverability_sends", SEND_COLUMNS, sends, "ON CONFLICT DO NOTHING")
        for flag, rows in (("hard_bounced", bounces), ("opted_out", opt_outs)):
            update_rows(
                cur,
                "deliverability_sends",
                [("outcome_position", "bigint")],
                ROW_KEY,
                rows,
                assign=SQL_ASSIGN[flag],
            )


# What an outcome sets in its send's row (`update_rows` names the row's new values `u`).
SQL_ASSIGN = {
    flag: SQL("{0} = true, outcome_position = u.outcome_position").format(Identifier(flag))
    for flag in ("hard_bounced", "opted_out")
}


def outcomes_after(db: Database, position: int, limit: int = 1000) -> tuple[list[Outcome], int]:
    """The windows that outcomes after `position` changed (each once), and the last such position
    (`position` itself when there are none)."""
    rows = db.fetch_all(
        """SELECT campaign_id, channel, sender_account_id, outcome_position FROM deliverability_sends
           WHERE outcome_position > %s ORDER BY outcome_position LIMIT %s""",
        (position, limit),
    )
    if not rows:
        return [], position
    seen = dict.fromkeys(Outcome(r["campaign_id"], r["channel"], r["sender_account_id"]) for r in rows)
    return list(seen), rows[-1]["outcome_position"]


def campaign_window(db: Database, campaign_id: UUID, channel: str, window_sends: int) -> Window:
    """The campaign's last `window_sends` sends on the channel since its last resume."""
    return _window(
        db,
        """campaign_id = %(key)s AND channel = %(channel)s AND position > coalesce(
               (SELECT after_position FROM deliverability_window_starts WHERE campaign_id = %(key)s), 0)""",
        {"key": campaign_id, "channel": channel, "limit": window_sends},
    )


def sender_window(db: Database, sender_account_id: str, after: int, window_sends: int) -> Window:
    """The account's last `window_sends` sends after position `after` (its last resume)."""
    return _window(
        db,
        "sender_account_id = %(key)s AND position > %(after)s",
        {"key": sender_account_id, "after": after, "limit": window_sends},
    )


def sent_to_since(
    db: Database, campaigns: list[tuple[UUID, str, int]], mailboxes: list[tuple[str, int]]
) -> tuple[set[tuple[UUID, str]], set[str]]:
    """Of these campaigns' windows (campaign, channel, after) and mailboxes' (account, after), those
    with a send past their `after` position: one indexed probe each, in two statements."""
    sent_campaigns = (
        db.fetch_all(
            """SELECT w.campaign_id, w.channel FROM unnest(%s::uuid[], %s::text[], %s::bigint[])
               AS w(campaign_id, channel, after)
           WHERE EXISTS (SELECT 1 FROM deliverability_sends s WHERE s.campaign_id = w.campaign_id
                         AND s.channel = w.channel AND s.position > w.after)""",
            ([c[0] for c in campaigns], [c[1] for c in campaigns], [c[2] for c in campaigns]),
        )
        if campaigns
        else []
    )
    sent_mailboxes = (
        db.fetch_all(
            """SELECT w.account FROM unnest(%s::text[], %s::bigint[]) AS w(account, after)
           WHERE EXISTS (SELECT 1 FROM deliverability_sends s
                         WHERE s.sender_account_id = w.account AND s.position > w.after)""",
            ([m[0] for m in mailboxes], [m[1] for m in mailboxes]),
        )
        if mailboxes
        else []
    )
    return (
        {(row["campaign_id"], row["channel"]) for row in sent_campaigns},
        {row["account"] for row in sent_mailboxes},
    )


def latest_position(db: Database) -> int:
    """How far in the log this read model has read (0 before its first pass): a window started
    now starts after it."""
    row = db.fetch_one(
        "SELECT position FROM projection_positions WHERE projection = %s", (DeliverabilityWindows.name,)
    )
    return int(row["position"]) if row else 0


def _window(db: Database, where: str, params: dict[str, Any]) -> Window:
    row = db.fetch_one(
        f"""SELECT count(*) AS sends, count(*) FILTER (WHERE hard_bounced) AS bounces,
                   count(*) FILTER (WHERE opted_out) AS opt_outs
            FROM (SELECT hard_bounced, opted_out FROM deliverability_sends WHERE {where}
                  ORDER BY position DESC LIMIT %(limit)s) AS last_sends""",
        params,
    )
    if row is None:  # an aggregate always answers a row
        return Window(0, 0, 0)
    return Window(row["sends"], row["bounces"], row["opt_outs"])
