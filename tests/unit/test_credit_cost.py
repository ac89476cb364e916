"""Credit cost of a launch (DESIGN.md section 3): the sum over step types of (steps of that type x
contacts eligible for that type x unit cost of the type). Unit cost defaults to 1 for EMAIL, SMS and
VOICEMAIL and 0 for WAIT, so waits never cost anything. A property test compares the formula with a
brute-force count over every (step, contact) pair, where each generated contact has its own set of
channels it can be reached on.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.credit_cost import DEFAULT_UNIT_COSTS, credit_cost
from domain.steps import Step, StepType

EMAIL, SMS, VOICEMAIL, WAIT = StepType.EMAIL, StepType.SMS, StepType.VOICEMAIL, StepType.WAIT


def steps_of(*types: StepType) -> list[Step]:
    return [Step(f"s{i}", t, group=i, order=0, wait_days=1) for i, t in enumerate(types)]


def test_default_unit_costs_are_one_per_send_and_zero_for_wait() -> None:
    assert dict(DEFAULT_UNIT_COSTS) == {EMAIL: 1, SMS: 1, VOICEMAIL: 1, WAIT: 0}


def test_cost_multiplies_steps_by_eligible_contacts_per_type() -> None:
    steps = steps_of(EMAIL, EMAIL, SMS, VOICEMAIL, WAIT)
    eligible = {EMAIL: 10, SMS: 4, VOICEMAIL: 3}
    assert credit_cost(steps, eligible) == 2 * 10 + 1 * 4 + 1 * 3


def test_wait_steps_cost_nothing_even_with_eligible_contacts() -> None:
    assert credit_cost(steps_of(WAIT, WAIT), {WAIT: 1_000, EMAIL: 5}) == 0


def test_a_type_without_eligible_contacts_costs_nothing() -> None:
    assert credit_cost(steps_of(EMAIL, SMS), {EMAIL: 7}) == 7
    assert credit_cost(steps_of(SMS, VOICEMAIL), {}) == 0


def test_no_steps_cost_nothing() -> None:
    assert credit_cost([], {EMAIL: 100, SMS: 100}) == 0


def test_custom_unit_costs_are_applied_per_type() -> None:
    costs = {EMAIL: 1, SMS: 3, VOICEMAIL: 5, WAIT: 0}
    steps = steps_of(EMAIL, SMS, SMS, VOICEMAIL)
    assert credit_cost(steps, {EMAIL: 2, SMS: 2, VOICEMAIL: 2}, costs) == 2 + 2 * 2 * 3 + 2 * 5


step_types = st.lists(st.sampled_from(list(StepType)), max_size=12)
contacts = st.lists(st.frozensets(st.sampled_from([t.channel for t in StepType if t.channel])), max_size=25)
send_costs = st.fixed_dictionaries({t: st.integers(0, 9) for t in (EMAIL, SMS, VOICEMAIL)})


def eligible_counts(reachable: list[frozenset[str]]) -> dict[StepType, int]:
    return {t: sum(1 for channels in reachable if t.channel in channels) for t in (EMAIL, SMS, VOICEMAIL)}


def brute_force(steps: list[Step], reachable: list[frozenset[str]], costs) -> int:
    total = 0
    for step in steps:
        for channels in reachable:
            if step.type is not WAIT and step.channel in channels:
                total += costs[step.type]
    return total


@given(step_types, contacts)
def test_cost_equals_one_credit_per_step_per_reachable_contact(types, reachable) -> None:
    steps = steps_of(*types)
    expected = brute_force(steps, reachable, DEFAULT_UNIT_COSTS)
    assert credit_cost(steps, eligible_counts(reachable)) == expected


@given(step_types, contacts, send_costs)
def test_cost_with_custom_unit_costs_matches_brute_force(types, reachable, costs) -> None:
    steps = steps_of(*types)
    unit_costs = {**costs, WAIT: 0}
    expected = brute_force(steps, reachable, unit_costs)
    assert credit_cost(steps, eligible_counts(reachable), unit_costs) == expected


@given(step_types, contacts)
def test_cost_depends_only_on_how_many_steps_of_each_type(types, reachable) -> None:
    steps = steps_of(*types)
    shuffled = steps_of(*sorted(types))
    eligible = eligible_counts(reachable)
    assert credit_cost(steps, eligible) == credit_cost(shuffled, eligible)
    assert credit_cost(iter(steps), eligible) == credit_cost(steps, eligible)
