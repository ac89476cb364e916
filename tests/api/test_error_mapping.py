"""The one table from the errors use cases raise to problem answers."""

from __future__ import annotations

import json

from api.errors import PROBLEMS, problem_for
from commands.campaigns.launch_campaign import CannotRun
from commands.idempotency import KeyReused
from commands.sending.sender_accounts import DuplicateSenderAccount, InvalidSenderAccount
from domain.errors import (
    Conflict,
    DomainError,
    IllegalTransition,
    InsufficientCredits,
    InvalidCampaign,
    NotFound,
    ServiceError,
)


def _answer(error: Exception) -> tuple[int, dict]:
    response = problem_for(error)
    assert response.media_type == "application/problem+json"
    return response.status_code, json.loads(response.body)


def test_each_kind_of_error_answers_its_status_with_the_most_specific_title():
    assert _answer(NotFound("campaign 7"))[0] == 404
    assert _answer(NotFound("campaign 7"))[1]["detail"] == "campaign 7 does not exist"
    assert _answer(IllegalTransition("cannot pause a DRAFT"))[1]["title"] == "Illegal transition"
    assert _answer(DomainError("a rule"))[0] == 409
    assert _answer(Conflict("clash"))[1]["title"] == "Conflict"
    assert _answer(InvalidCampaign("bad steps"))[0] == 422
    assert _answer(DuplicateSenderAccount("taken"))[:1] == (409,)
    status, body = _answer(InsufficientCredits(needed=5, available=2))
    assert (status, body["needed"], body["available"]) == (402, 5, 2)
    status, body = _answer(CannotRun(["no steps", "no contacts"]))
    assert (status, body["problems"]) == (422, ["no steps", "no contacts"])


def test_fields_a_use_case_names_are_the_bodys_unless_located_elsewhere():
    _, body = _answer(InvalidSenderAccount([{"field": "warmup.start_limit", "error": "too high"}]))
    assert body["errors"] == [{"field": "body.warmup.start_limit", "error": "too high"}]
    _, body = _answer(KeyReused("used for another request"))
    assert body["errors"][0]["field"] == "header.Idempotency-Key"


def test_every_kind_a_client_can_be_told_about_has_a_row():
    def kinds(cls: type[Exception]) -> set[type[Exception]]:
        return {cls} | {k for sub in cls.__subclasses__() for k in kinds(sub)}

    for kind in kinds(ServiceError):
        assert any(k in PROBLEMS for k in kind.__mro__), kind
    assert all(400 <= status < 600 for status, _ in PROBLEMS.values())
