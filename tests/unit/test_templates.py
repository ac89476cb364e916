"""Templates render placeholders safely, and personalisation falls back to the template text.

Properties: text without placeholders is unchanged, a placeholder with a fallback never fails, and
in an HTML body no `<` or `>` from a contact's value survives. Syntax problems are found before a
campaign exists; a model-backed personaliser that fails or hangs gives way to the template.
"""

from __future__ import annotations

import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.sending.personalisation import (
    TEMPLATE,
    ModelWithTemplateFallback,
    Personalised,
    contact_values,
    load_personaliser,
    personalise_step,
)
from domain.steps import Step, StepType
from domain.templates import MissingField, looks_like_html, render, required_fields, syntax_problems

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,12}", fullmatch=True)
PLAIN = st.text(alphabet=st.characters(blacklist_characters="{}<>"), max_size=40)
VALUES = st.one_of(st.none(), st.just(""), st.text(max_size=40), st.integers())


def email(subject: str, body: str) -> Step:
    return Step(id="s1", type=StepType.EMAIL, group=0, order=0, subject=subject, body=body)


@given(st.text(max_size=200).filter(lambda text: "{{" not in text), st.dictionaries(NAMES, VALUES))
def test_text_without_placeholders_is_unchanged(text, values):
    assert render(text, values) == text
    assert render(text, values, escape_html=True) == text


@given(NAMES, PLAIN, PLAIN, PLAIN, st.dictionaries(NAMES, VALUES))
def test_a_placeholder_with_a_fallback_never_raises(name, fallback, before, after, values):
    rendered = render(f"{before}{{{{{name}|{fallback}}}}}{after}", values)
    value = values.get(name)
    expected = fallback.strip() if value in (None, "") else str(value)
    assert rendered == f"{before}{expected}{after}"


@given(st.text(min_size=1, max_size=80), PLAIN)
def test_escaping_leaves_no_angle_bracket_from_a_value_in_an_html_body(value, words):
    rendered = render(f"<p>{words} {{{{first_name}}}}</p>", {"first_name": value}, escape_html=True)
    inside = rendered.removeprefix("<p>").removesuffix("</p>")
    assert "<" not in inside and ">" not in inside


@given(st.text(alphabet=string.ascii_letters + "{}| ", max_size=30))
def test_a_template_the_syntax_check_accepts_always_renders_with_every_field_present(text):
    if not syntax_problems(text, html_text=True):
        values = dict.fromkeys(required_fields(text), "x")
        assert "{{" not in render(text, values)


def test_a_value_that_looks_like_a_placeholder_is_not_rendered_again():
    assert render("Hi {{a}}", {"a": "{{b}}", "b": "no"}) == "Hi {{b}}"


def test_a_missing_field_without_fallback_raises():
    with pytest.raises(MissingField):
        render("Hi {{company}}", {"company": ""})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Hi {{ first name }}", "malformed placeholder '{{ first name }}'"),
        ("Hi {{first_name", "never closed"),
        ("Hi {{a {{b}}", "never closed"),
        ("Hi first_name}}", "without an opening"),
        ("Hi {{1st}}", "malformed placeholder"),
        ("Hi {{x|a}b}}", "malformed placeholder"),
    ],
)
def test_malformed_placeholders_and_unbalanced_braces_are_reported(text, fragment):
    problems = syntax_problems(text)
    assert len(problems) == 1 and fragment in problems[0], problems


def test_well_formed_templates_have_no_problems_and_css_braces_are_fine_in_html():
    assert syntax_problems("Hi {{ first_name | there }}, {{company}} {{fields.x|}}") == []
    assert syntax_problems("<style>@media x{a{b:c}}</style><p>{{a}}</p>", html_text=True) == []
    assert required_fields("{{a}} {{b|x}} {{ c }}") == {"a", "c"}


def test_an_email_body_is_html_when_it_has_tags():
    assert looks_like_html("<p>Hello</p>") and looks_like_html("Hi<br/>there")
    assert not looks_like_html("if a < b and c > d") and not looks_like_html("I <3 you")


def test_the_template_personaliser_escapes_values_only_in_an_html_email_body():
    values = {"first_name": "<b>Ann</b>"}
    html = TEMPLATE.personalise(email("Hi {{first_name}}", "<p>Hi {{first_name}}</p>"), values)
    assert html == Personalised("Hi <b>Ann</b>", "<p>Hi &lt;b&gt;Ann&lt;/b&gt;</p>", "template")
    plain = TEMPLATE.personalise(email("Hi", "Hi {{first_name}}"), values)
    assert plain.body == "Hi <b>Ann</b>"
    sms = Step(id="s2", type=StepType.SMS, group=0, order=0, body="<p>{{first_name}}")
    assert TEMPLATE.personalise(sms, values).body == "<p><b>Ann</b>"


def test_contact_columns_win_over_custom_fields_only_when_they_have_a_value():
    contact = {"first_name": "Ann", "company": None, "fields": {"company": "Acme", "first_name": "X"}}
    assert contact_values(contact) == {"first_name": "Ann", "company": "Acme"}


class Model:
    def __init__(self, behaviour) -> None:
        self.behaviour, self.calls = behaviour, 0

    def personalise(self, step, contact_values):
        self.calls += 1
        return self.behaviour(step, contact_values)


def _raise(step, values):
    raise RuntimeError("model down")


def test_a_failing_model_gives_way_to_the_template_with_a_note():
    personaliser = ModelWithTemplateFallback(Model(_raise))
    made = personaliser.personalise(email("Hi {{first_name|there}}", "Body"), {})
    assert made == Personalised(
        "Hi there", "Body", "template (personaliser failed: RuntimeError: model down)"
    )


def test_a_model_that_hangs_is_abandoned_after_its_timeout():
    personaliser = ModelWithTemplateFallback(Model(lambda s, v: time.sleep(5)), timeout_s=0.1)
    started = time.monotonic()
    made = personaliser.personalise(email("Hi", "Body"), {})
    assert time.monotonic() - started < 2
    assert made.note == "template (personaliser failed: timed out after 0.1s)"


def test_a_model_answer_is_used_and_noted_and_only_for_ai_campaigns():
    model = Model(lambda s, v: Personalised("Hey", "Written for you"))
    personaliser = ModelWithTemplateFallback(model)
    step = email("Hi", "Body")
    assert personalise_step(personaliser, True, step, {}) == Personalised("Hey", "Written for you", "model")
    assert personalise_step(personaliser, False, step, {}).note == "template"
    assert model.calls == 1


def test_no_personaliser_configured_means_the_template_one():
    assert load_personaliser(None) is TEMPLATE
    loaded = load_personaliser("tests.unit.test_templates:failing_model", timeout_s=1)
    assert loaded.personalise(email("Hi", "B"), {}).note.startswith("template (personaliser failed")


def failing_model() -> Model:
    return Model(_raise)
