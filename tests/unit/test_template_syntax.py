"""Template syntax problems, exactly as an author reads them when a campaign or template is refused:
every problem in order, with the character position it points at, and for a step each prefixed
with the step and the part (subject, body) it is in. In an HTML email body a stray '}}' may close
nested CSS blocks and is not a problem; everywhere else it is.
"""

from __future__ import annotations

import pytest

from domain.steps import Step, StepType
from domain.templates import MissingField, render, step_problems, syntax_problems

HINT = "write {{field}} or {{field|fallback}}, a field name being letters, digits, '_' or '.' without spaces"


def stray(at: int) -> str:
    return f"'}}}}' without an opening '{{{{' at character {at}"


def unclosed(at: int) -> str:
    return f"'{{{{' at character {at} is never closed with '}}}}'"


def malformed(placeholder: str) -> str:
    return f"malformed placeholder '{placeholder}': {HINT}"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("", []),
        ("Hi {{first_name}}, {{ company | your team }}", []),
        ("}} hi", [stray(0)]),
        ("x}}{{a}}", [stray(1)]),
        ("{{a}} }}", [stray(6)]),
        ("{{a}}}}", [stray(5)]),
        ("{{a|b}}c}}", [stray(8)]),
        ("a }}} b {{c}}", [stray(2)]),  # a run of braces is reported where it starts
        ("{{a}}{{b}} }}", [stray(11)]),
        ("{{", [unclosed(0)]),
        ("ab{{", [unclosed(2)]),
        ("{{a}} {{b", [unclosed(6)]),
        ("{{a {{b}}", [unclosed(0)]),
        ("{{{{a}}", [unclosed(0)]),
        ("}}{{", [stray(0), unclosed(2)]),
        ("{{}}", [malformed("{{}}")]),
        ("{{ }}", [malformed("{{ }}")]),
        ("Hi {{ first name }}", [malformed("{{ first name }}")]),
        ("{{a}}{{ b c }}{{d", [malformed("{{ b c }}"), unclosed(14)]),
        ("{{1st}} and }} then {{x|a}b}}", [malformed("{{1st}}"), stray(12), malformed("{{x|a}b}}")]),
    ],
)
def test_the_syntax_check_lists_every_problem_in_order_with_its_position(text, problems) -> None:
    assert syntax_problems(text) == problems


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("}}{{a}}", []),
        ("<style>@media x{a{b:c}}}</style><p>{{a}}</p>", []),
        ("<p>{{a}}}}</p>", []),
        ("<p>{{a</p>", [unclosed(3)]),
        ("}}{{", [unclosed(2)]),
        ("<p>{{ a b }}</p>", [malformed("{{ a b }}")]),
    ],
)
def test_in_html_a_stray_closing_brace_pair_is_not_a_problem(text, problems) -> None:
    assert syntax_problems(text, html_text=True) == problems


def email(subject: str, body: str) -> Step:
    return Step("e1", StepType.EMAIL, 0, 0, subject=subject, body=body)


def test_a_steps_problems_name_the_part_they_are_in_subject_first() -> None:
    step = email("Hi {{first name}} }}", "Dear {{a}}, }} {{b")
    assert step_problems(step, "step e1") == [
        f"step e1 subject: {malformed('{{first name}}')}",
        f"step e1 subject: {stray(18)}",
        f"step e1 body: {stray(12)}",
        f"step e1 body: {unclosed(15)}",
    ]


def test_an_html_email_body_may_close_css_blocks_but_its_subject_may_not() -> None:
    step = email("Sale }}", "<style>p{a{b:c}}</style><p>{{a}} {{b</p>")
    assert step_problems(step, "step e1") == ["step e1 subject: " + stray(5), "step e1 body: " + unclosed(33)]


def test_an_sms_body_that_looks_like_html_is_still_plain_text() -> None:
    sms = Step("s1", StepType.SMS, 0, 0, body="<p>{{a}} }}</p>")
    assert step_problems(sms, "step s1") == ["step s1 body: " + stray(9)]


def test_steps_without_a_subject_or_body_have_no_problems() -> None:
    assert step_problems(Step("v1", StepType.VOICEMAIL, 0, 0, audio_url="https://a/b.mp3"), "v1") == []
    assert step_problems(Step("w1", StepType.WAIT, 1, 0, wait_days=2), "w1") == []
    assert step_problems(email("Hi {{first_name}}", "<p>{{a|there}}</p>"), "e1") == []


def test_a_missing_field_names_the_field() -> None:
    with pytest.raises(MissingField) as missing:
        render("Hi {{first_name|there}}, about {{ company }}", {"first_name": "Ann"})
    assert missing.value.args == ("company",)
