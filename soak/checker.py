"""The soak's checker, over the whole history and what the providers' fakes took: every step sent at
most once at the providers (a step is its message key, the enrollment and the step), every send
the providers took recorded as a StepSent with the provider's id and every StepSent taken by a
provider, no step recorded sent twice, every campaign COMPLETED with its credits reserved =
consumed + released and none outstanding, `audit credits` and `audit consent` clean, and
something sent at all (a schedule that sent nothing proves nothing). Pure: it is given the events,
the sends and the campaigns' figures as data, so its test plants each kind of violation."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from consumers.providers.gmail.outgoing_mail import message_id_for
from provider_fakes.google import SentMessage


@dataclass(frozen=True)
class ProviderSend:
    """One message or call a provider's fake took: its channel, step key and the provider's id."""

    channel: str
    key: str
    provider_id: str


@dataclass(frozen=True)
class Violation:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class Verdict:
    sends_checked: int
    violations: list[Violation]


def readable(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The exported events with their `data` as a mapping (`events export` writes it as JSON text)."""
    return [
        {**event, "data": json.loads(event["data"]) if isinstance(event["data"], str) else event["data"]}
        for event in events
    ]


def step_keys(events: Iterable[Mapping[str, Any]]) -> set[str]:
    """The message key of every step of every enrollment's plan."""
    return {
        f"{event['aggregate_id']}:{step['id']}"
        for event in events
        if event["type"] == "ContactEnrolled"
        for step in event["data"]["plan"]
    }


def gmail_sends(messages: Iterable[SentMessage], keys: Iterable[str]) -> list[ProviderSend]:
    """The emails the Gmail fake took, each keyed by the step whose Message-ID it carries."""
    sent, keys = list(messages), list(keys)
    by_id = {message_id_for(key, mailbox): key for mailbox in {m.mailbox for m in sent} for key in keys}
    found = []
    for message in sent:
        message_id = str(message.parsed["Message-ID"])
        found.append(
            ProviderSend("email", by_id.get(message_id, f"unknown Message-ID {message_id}"), message.id)
        )
    return found


def twilio_sends(
    messages: Iterable[Mapping[str, Any]], calls: Iterable[Mapping[str, Any]]
) -> list[ProviderSend]:
    """The texts and calls the Twilio fake took, each keyed by the `?key=` of its callback URL."""

    def key(url: str) -> str:
        return parse_qs(urlsplit(url).query).get("key", [f"no key in {url}"])[0]

    return [ProviderSend("sms", key(m["form"].get("StatusCallback", "")), m["sid"]) for m in messages] + [
        ProviderSend("voicemail", key(c["form"].get("Url", "")), c["sid"]) for c in calls
    ]


def check(
    events: Sequence[Mapping[str, Any]],
    sends: list[ProviderSend],
    campaigns: Mapping[str, Mapping[str, Any] | None],
    audits: Mapping[str, int],
) -> Verdict:
    """Every violation the history, the providers' sends, the campaigns' figures (None: unreadable)
    and the audits' exit codes show."""
    violations: list[Violation] = []
    recorded: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for event in events:
        if event["type"] == "StepSent":
            recorded[f"{event['aggregate_id']}:{event['data']['step_id']}"].append(event["data"])
    taken = Counter(send.key for send in sends)
    violations += [
        Violation("sent twice", f"step {key}: {n} sends at the provider") for key, n in taken.items() if n > 1
    ]
    violations += [
        Violation("recorded sent twice", f"step {key}: {len(found)} StepSent events")
        for key, found in recorded.items()
        if len(found) > 1
    ]
    for send in sends:
        ids = {data["provider_message_id"] for data in recorded.get(send.key, [])}
        if not ids:
            violations.append(
                Violation("sent, not recorded", f"{send.channel} {send.provider_id} of step {send.key}")
            )
        elif send.provider_id not in ids:
            violations.append(
                Violation(
                    "recorded with another id",
                    f"step {send.key}: provider {send.provider_id}, recorded {sorted(ids)}",
                )
            )
    at_providers = {send.provider_id for send in sends}
    violations += [
        Violation("recorded, not sent", f"step {key}: {data['provider_message_id']} is at no provider")
        for key, found in recorded.items()
        for data in found
        if data["provider_message_id"] not in at_providers
    ]
    for campaign, detail in campaigns.items():
        if detail is None:
            violations.append(Violation("unfinished campaign", f"{campaign}: unreadable"))
            continue
        if detail["status"] != "COMPLETED":
            violations.append(Violation("unfinished campaign", f"{campaign}: {detail['status']}"))
        credits = detail["credits"]
        if credits["reserved"] != credits["consumed"] + credits["released"] or credits["outstanding"] != 0:
            violations.append(Violation("credits unbalanced", f"{campaign}: {credits}"))
    violations += [
        Violation("audit failed", f"{name} exited {code}") for name, code in audits.items() if code != 0
    ]
    if not sends:
        violations.append(
            Violation("nothing sent", "the providers took no message: the schedule proved nothing")
        )
    return Verdict(len(sends), violations)
