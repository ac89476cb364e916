"""The registry of roles the command line and `serve` run: every name a command or `serve` runs is
registered, the channels are the transport's, an unknown name is refused with the known ones, and
the command line reads its choices from the registry without loading what the roles run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from consumers.transport.messages import SEND_TOPICS
from runtime import roles
from runtime.cli import parser


def test_the_channels_are_the_ones_the_transport_has_a_topic_for() -> None:
    assert tuple(SEND_TOPICS) == roles.CHANNELS


def test_every_role_serve_and_the_commands_run_is_registered() -> None:
    run = [*roles.IN_PROCESS, *roles.TIMED_JOBS]
    for channel in roles.CHANNELS:
        run += [*roles.channel_roles(channel), f"{channel}_channel_process"]
    assert [role.name for role in roles.chosen(run)] == run


def test_an_unknown_role_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown role 'relay:email'; roles are projector, relays, "):
        roles.chosen(["projector", "relay:email"])


@pytest.mark.parametrize("command", ["worker", "channel"])
def test_the_channel_commands_take_the_registrys_channels(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for channel in roles.CHANNELS:
        assert parser().parse_args([command, "--channel", channel]).channel == channel
    with pytest.raises(SystemExit):
        parser().parse_args([command, "--channel", "fax"])
    assert "invalid choice: 'fax'" in capsys.readouterr().err


def test_the_command_line_loads_no_role_before_serve_sets_the_metrics_folder() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, runtime.cli; print(sorted(m for m in sys.modules if m.startswith('consumers')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
