"""Unsubscribe tokens carry brand, campaign, contact and address, and only our own secret makes one."""

from __future__ import annotations

import re
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from commands.audience.unsubscribe_tokens import UnsubscribeRequest, UnsubscribeTokens, tokens_for

TOKENS = UnsubscribeTokens(b"a test secret of enough length")
REQUEST = UnsubscribeRequest(uuid4(), uuid4(), uuid4(), "ada@example.com")


def test_a_token_reads_back_as_the_request_it_was_made_for():
    assert TOKENS.read(TOKENS.token(REQUEST)) == REQUEST


def test_a_token_is_url_safe():
    token = TOKENS.token(REQUEST)
    assert all(c.isalnum() or c in "-_." for c in token)


def test_a_token_made_with_another_secret_is_not_ours():
    forged = UnsubscribeTokens(b"someone else's secret, long too").token(REQUEST)
    assert TOKENS.read(forged) is None


@given(position=st.integers(min_value=0), replacement=st.sampled_from("AQgw-_9z"))
def test_any_altered_character_makes_the_token_unreadable(position, replacement):
    token = TOKENS.token(REQUEST)
    at = position % len(token)
    altered = token[:at] + replacement + token[at + 1 :]
    if altered != token:
        assert TOKENS.read(altered) is None


def test_a_token_for_another_address_cannot_be_made_by_swapping_the_payload():
    other = TOKENS.token(
        UnsubscribeRequest(REQUEST.brand_id, REQUEST.campaign_id, REQUEST.contact_id, "bo@example.com")
    )
    payload, _ = other.split(".")
    _, mac = TOKENS.token(REQUEST).split(".")
    assert TOKENS.read(f"{payload}.{mac}") is None


def test_garbage_is_not_a_token():
    for garbage in ("", ".", "abc", "a.b.c", "!!!.???", "x" * 500):
        assert TOKENS.read(garbage) is None


def test_the_secret_comes_from_the_setting_then_the_credentials_key_then_the_data_dir(tmp_path):
    from_setting = tokens_for("a configured secret of length", "a-credentials-key", tmp_path)
    from_key = tokens_for(None, "a-credentials-key", tmp_path)
    assert from_setting is not None and from_key is not None
    assert from_setting.read(from_key.token(REQUEST)) is None
    assert not (tmp_path / "unsubscribe.key").exists()  # a configured secret needs no key file
    from_folder = tokens_for(None, None, tmp_path)
    again = tokens_for(None, None, tmp_path)  # a restart keeps the links in mail already sent working
    assert from_folder is not None and again is not None
    assert again.read(from_folder.token(REQUEST)) == REQUEST
    assert (tmp_path / "unsubscribe.key").stat().st_mode & 0o777 == 0o600
    assert tokens_for(None, None, None) is None
    assert repr(from_setting) == "UnsubscribeTokens(secret=<hidden>)"


def test_a_data_dir_not_made_yet_gets_a_key_file_of_one_line_with_256_random_bits(tmp_path):
    folder = tmp_path / "not" / "made" / "yet"
    tokens = tokens_for(None, None, folder)
    assert tokens is not None
    text = (folder / "unsubscribe.key").read_text()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\n", text), text  # 32 bytes in base64url, one line
    assert tokens_for(None, None, folder).read(tokens.token(REQUEST)) == REQUEST


def test_a_one_character_address_reads_back_and_a_token_without_an_address_reads_as_nothing():
    short = UnsubscribeRequest(REQUEST.brand_id, REQUEST.campaign_id, REQUEST.contact_id, "a")
    assert TOKENS.read(TOKENS.token(short)) == short
    nobody = UnsubscribeRequest(REQUEST.brand_id, REQUEST.campaign_id, REQUEST.contact_id, "")
    assert TOKENS.read(TOKENS.token(nobody)) is None  # nobody to unsubscribe
