"""Stored campaign templates (a brand's reusable step lists), and the checks every step list passes.

A template is a plain table row: a name and steps in the same shape a campaign takes. Creating a
campaign with `template_id` copies the steps (they get fresh ids), so editing or deleting a template
never changes a campaign made from it. Campaign and template steps are checked the same way here:
the domain's step rules, then every placeholder's syntax, all problems reported at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from psycopg.types.json import Jsonb

from domain.errors import InvalidCampaign, InvalidInput, NotFound
from domain.limits import MAX_NAME, text_problem
from domain.steps import Step, StepType, validate_steps
from domain.templates import step_problems
from storage.database import Database
from storage.paging import after, cursor_params, page


def checked_steps(raw_steps: list[dict[str, Any]]) -> list[Step]:
    """Steps numbered in the order given within each group, or InvalidCampaign listing every problem."""
    order_in_group: dict[int, int] = {}
    steps = []
    for raw in raw_steps:
        group = int(raw.get("group") or 0)
        order_in_group[group] = order_in_group.get(group, -1) + 1
        steps.append(
            Step(
                id=str(raw.get("id") or uuid4()),
                type=StepType(raw["type"]),
                group=group,
                order=order_in_group[group],
                subject=raw.get("subject"),
                body=raw.get("body"),
                audio_url=raw.get("audio_url"),
                wait_days=int(raw.get("wait_days") or 0),
            )
        )
    validate_steps(steps)
    problems = [p for n, step in enumerate(steps, 1) for p in step_problems(step, f"step {n}")]
    if problems:
        raise InvalidCampaign("; ".join(problems))
    return steps


class InvalidTemplate(InvalidInput):
    """A template's name or steps break a rule or a limit."""


def create_template(
    db: Database, brand_id: UUID, name: str, raw_steps: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """Store the template; InvalidTemplate if its name or steps break a rule or a limit."""
    if not 1 <= len(name) <= MAX_NAME or text_problem(name):
        raise InvalidTemplate(f"a template name has 1 to {MAX_NAME} characters, and no NUL")
    try:
        checked_steps(raw_steps)
    except InvalidCampaign as invalid:
        raise InvalidTemplate(str(invalid), invalid.errors) from None
    template_id = uuid4()
    db.execute(
        """INSERT INTO campaign_templates (id, brand_id, name, steps, created_at)
           VALUES (%s, %s, %s, %s, %s)""",
        (template_id, brand_id, name, Jsonb(raw_steps), now),
    )
    return template(db, brand_id, template_id)


def template(db: Database, brand_id: UUID, template_id: UUID) -> dict[str, Any]:
    """The brand's template; another brand's template does not exist."""
    row = db.fetch_one(
        "SELECT id, name, steps, created_at FROM campaign_templates WHERE id = %s AND brand_id = %s",
        (template_id, brand_id),
    )
    if row is None:
        raise NotFound(f"template {template_id}")
    return row


def templates(
    db: Database, brand_id: UUID, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the brand's templates, oldest first; InvalidCursor for a cursor not handed out."""
    rows = db.fetch_all(
        f"""SELECT id, name, steps, created_at FROM campaign_templates
           WHERE brand_id = %(brand)s AND {after()} ORDER BY created_at, id LIMIT %(limit)s""",
        {"brand": brand_id, "limit": limit + 1, **cursor_params(cursor)},
    )
    return page(rows, limit)
