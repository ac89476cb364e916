"""Who signed a Twilio webhook: the sender account whose auth token makes its X-Twilio-Signature.

Twilio signs each webhook with the auth token of the account that owns the number, over the full
URL it called (PUBLIC_BASE_URL + path + query) and the form parameters. The candidates are the
Twilio sender accounts registered for the number the webhook is about (the `To` of an inbound
text; the `From` of a message or call we placed); an account whose SID differs from the request's
`AccountSid` is not asked. A request no candidate's token verifies is Forbidden, before anything
is recorded. The tokens are opened here and never leave this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from twilio.request_validator import RequestValidator

from commands.sending.credentials import CredentialCipher, decrypt_credentials
from domain.errors import Forbidden, Unavailable
from storage.database import Database

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


class BadSignature(Forbidden):
    """The webhook's X-Twilio-Signature is missing or does not verify with any account's token."""


@dataclass(frozen=True)
class SignedBy:
    brand_id: UUID
    sender_account_id: UUID
    number: str


def verify_twilio_request(
    db: Database,
    cipher: CredentialCipher | None,
    url: str,
    params: dict[str, str],
    signature: str,
    number: str,
) -> SignedBy:
    """The account that signed this request for `number` (one of ours); BadSignature otherwise."""
    if not signature or not E164.match(number):  # no number of ours: nothing to look up
        raise BadSignature("the request carries no valid X-Twilio-Signature")
    accounts = db.fetch_all(
        """SELECT id, brand_id, address FROM sender_accounts
           WHERE provider = 'twilio' AND address = %s ORDER BY created_at, id""",
        (number,),
    )
    for account in accounts:
        try:
            credentials = decrypt_credentials(db, cipher, account["id"])
        except Unavailable:
            continue  # a key that does not open them cannot have signed anything
        if params.get("AccountSid") not in (None, credentials.get("account_sid")):
            continue
        token = credentials.get("auth_token")
        if token and RequestValidator(token).validate(url, params, signature):
            return SignedBy(account["brand_id"], account["id"], account["address"])
    raise BadSignature("the request carries no valid X-Twilio-Signature")
