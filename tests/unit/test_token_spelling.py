"""A token has one spelling: the same bytes written another way (padding added, the spare bits of
its last character set, letters in another case) is not the token that was handed out, and opens
as nothing, for unsubscribe and tracking tokens alike."""

from __future__ import annotations

import string
from collections.abc import Callable
from uuid import uuid4

import pytest

from commands.audience.unsubscribe_tokens import UnsubscribeRequest, UnsubscribeTokens
from commands.signed_tokens import b64, unb64
from commands.tracking.tracking_tokens import TrackedStep, TrackingTokens

SECRET = b"a test secret of enough length"
ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
UNSUBSCRIBE = UnsubscribeTokens(SECRET)
TRACKING = TrackingTokens(SECRET)


def _tokens() -> list[tuple[Callable[[str], object], str]]:
    """Tokens of each kind, with parts whose lengths leave spare bits in their last character."""
    made = []
    for address in ("a@example.com", "ab@example.com", "abc@example.com"):
        request = UnsubscribeRequest(uuid4(), uuid4(), uuid4(), address)
        made.append((UNSUBSCRIBE.read, UNSUBSCRIBE.token(request)))
    for step_id, link in (("s1", None), ("s12", 3), ("s123", None)):
        made.append((TRACKING.read, TRACKING.token(TrackedStep(uuid4(), uuid4(), uuid4(), step_id, link))))
    return made


def _same_bytes_other_spellings(part: str) -> list[str]:
    """Other base64url spellings of the bytes `part` encodes: padded, or with spare bits set."""
    spellings = [part + "=" * (-len(part) % 4 or 4), part + "=="]
    spare_bits = {2: 4, 3: 2}.get(len(part) % 4, 0)  # bits of the last character that carry nothing
    if spare_bits:
        last = ALPHABET.index(part[-1])
        spellings += [part[:-1] + ALPHABET[last | bit] for bit in range(1, 1 << spare_bits)]
    return spellings


# Named by kind and place, not by the token: its random ids must not name the test (the workers of
# pytest-xdist each collect the suite and must find the same tests).
TOKEN_NAMES = [f"unsubscribe-{n}" for n in range(3)] + [f"tracking-{n}" for n in range(3)]


@pytest.mark.parametrize("read, token", _tokens(), ids=TOKEN_NAMES)
def test_a_token_re_spelled_with_padding_or_spare_bits_opens_as_nothing(read, token):
    assert read(token) is not None
    payload, mac = token.split(".")
    respelled = [f"{p}.{mac}" for p in _same_bytes_other_spellings(payload)]
    respelled += [f"{payload}.{m}" for m in _same_bytes_other_spellings(mac)]
    assert len(respelled) > 4
    for other in respelled:
        assert read(other) is None, other


@pytest.mark.parametrize("read, token", _tokens(), ids=TOKEN_NAMES)
def test_a_token_with_its_letters_in_another_case_opens_as_nothing(read, token):
    for other in (token.upper(), token.lower(), token.swapcase()):
        if other != token:
            assert read(other) is None, other


def test_every_part_has_one_spelling_and_reads_back_as_its_bytes():
    for data in (b"", b"a", b"ab", b"abc", bytes(range(17))):
        if data:
            assert unb64(b64(data)) == data
            for other in _same_bytes_other_spellings(b64(data)):
                with pytest.raises(ValueError):
                    unb64(other)
