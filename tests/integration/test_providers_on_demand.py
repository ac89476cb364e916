"""The delivery adapters are built, and their SDKs imported, only when a send first needs them
(runtime/provider_adapters.py): the Google client is a third of a Python process's memory, and
the projector, the API and the texts' and voicemails' channels never send through Gmail. Checked
in a fresh interpreter, since this test run has long imported both SDKs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, sys
from runtime.service import build_service
from runtime.settings import Settings

def loaded():
    return {sdk: sdk in sys.modules for sdk in ("googleapiclient", "twilio.rest")}

service = build_service(Settings(_env_file=None, kafka_bootstrap_servers=None, channel_processes=False))
try:
    seen = {"built": loaded(), "names": sorted(service.parts.providers)}
    service.parts.providers["twilio"]
    seen["after_twilio"] = loaded()
    service.parts.providers["gmail"]
    seen["after_gmail"] = loaded()
finally:
    service.close()
print(json.dumps(seen))
"""


def test_a_process_loads_the_google_and_twilio_sdks_only_when_it_first_asks_for_their_adapters(database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")} | {"DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=True
    )

    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["names"] == ["gmail", "sandbox", "twilio"]  # named without being built
    assert seen["built"] == {"googleapiclient": False, "twilio.rest": False}
    assert seen["after_twilio"] == {"googleapiclient": False, "twilio.rest": True}
    assert seen["after_gmail"] == {"googleapiclient": True, "twilio.rest": True}
