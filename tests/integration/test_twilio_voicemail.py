"""Voicemail drops through Twilio Calls with answering-machine detection: the step's audio is
played only to a machine, after its greeting; a person who picks up hears nothing but a hang-up,
and the step is recorded as answered by a human."""

from __future__ import annotations

from domain.enrollment import Enrollment
from tests.integration.twilio_support import VOICE_NUMBER, service_with_twilio, twilio_brand
from tests.support import campaign_events, contacts, eventually

AUDIO = "https://brand.example/hello.mp3"
STEPS = [{"type": "VOICEMAIL", "group": 0, "audio_url": AUDIO}]


def test_a_voicemail_is_played_to_a_machine_and_a_person_gets_a_hang_up(database_url, fake_twilio):
    with service_with_twilio(database_url, fake_twilio) as service:
        brand = twilio_brand(service, fake_twilio)
        client = brand.client
        campaign_id = client.campaign(client.lead_group(contacts(2)), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: len(fake_twilio.calls) == 2)
        eventually(
            lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["voicemail"] == 2
        )

        machine, person = sorted(fake_twilio.calls, key=lambda call: call["to"])
        form = machine["form"]
        assert form["From"] == VOICE_NUMBER
        assert (form["MachineDetection"], form["AsyncAmd"]) == ("DetectMessageEnd", "true")
        voice = f"{brand.public_url}/webhooks/twilio/voice?key="
        assert all(
            form[name].startswith(voice) for name in ("Url", "AsyncAmdStatusCallback", "StatusCallback")
        )

        played = fake_twilio.answer_call(machine, "machine_end_beep")
        assert played.played == [AUDIO] and not played.hung_up
        assert "<Pause" in played.twiml[0]  # before detection decides, the call waits in silence
        picked_up = fake_twilio.answer_call(person, "human")
        assert picked_up.played == [] and picked_up.hung_up

        metrics = eventually(
            lambda: (
                (m := client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"])["delivered"] == 1 and m
            )
        )
        assert metrics["bounced"] == 0
        [human] = campaign_events(service, campaign_id, Enrollment.StepAnsweredByHuman)
        [delivered] = campaign_events(service, campaign_id, Enrollment.StepDelivered)
        assert delivered.detail == "played to an answering machine"
        rows = eventually(
            lambda: (
                (
                    r := sorted(
                        e["status"]
                        for e in client.ok(client.get(f"/v1/campaign/{campaign_id}/executions"))["items"]
                    )
                )
                == ["answered_by_human", "delivered"]
                and r
            )
        )
        assert rows == ["answered_by_human", "delivered"]
        assert human.step_id == delivered.step_id  # the same step, two contacts
        assert len(fake_twilio.calls) == 2  # no call placed twice
