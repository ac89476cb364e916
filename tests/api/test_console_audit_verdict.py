"""The credits page's audit verdict is `audit credits`' own, in words: a broken invariant names the
first violation with its log position, an altered row names the break in the hash chain (which
wins, as in the command), and the verdict says when it was checked. Each brand on a database of
its own, since tampering breaks the chain for everyone on it."""

from __future__ import annotations

import html as html_text
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg

from domain.credit_ledger import CreditLedger
from projections.history.credit_audit import audit_brand
from tests.api.api_support import service_on_own_database
from tests.api.console_support import launched_campaign, signed_in
from tests.stored_rows import edit_states
from tests.support import Client, eventually

VERDICT = re.compile(r'data-testid="audit-verdict">Failed</span>: ([^\n]*)\n')


def verdict_shown(service, client: Client) -> str:
    page = signed_in(service, client.api_key).get("/console/credits", params={"audit": "now"}).text
    found = VERDICT.search(page)
    assert found, "no failed verdict shown"
    return html_text.unescape(found.group(1).strip())


def the_commands_verdict(service, client: Client):
    with psycopg.connect(service.db.url, autocommit=True) as conn:
        return audit_brand(service.store, conn, client.brand_id)


def test_a_broken_invariant_is_shown_as_the_command_names_its_first_violation(server_url):
    with service_on_own_database(server_url) as service:
        client = Client(service)
        campaign_id = launched_campaign(client, "Overspent", contact_count=2)
        eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["credits"]["consumed"] == 2)
        # Planted straight into the store, past the ledger's own checks: more consumed than reserved.
        ledger = service.store.ledger(client.brand_id)
        at = ledger.modified_on + timedelta(seconds=1)
        ledger.trigger_event(
            CreditLedger.CreditsConsumed, campaign_id=UUID(campaign_id), amount=5, consumed_at=at
        )
        service.store.save_all([ledger])

        audit = the_commands_verdict(service, client)
        assert audit.chain_break is None and audit.ledger.violations
        assert verdict_shown(service, client) == f"broken invariant: {audit.ledger.violations[0]}"


def test_an_altered_row_is_shown_as_tampered_history_naming_the_break(server_url):
    with service_on_own_database(server_url) as service:
        client = Client(service)
        campaign_id = launched_campaign(client, "Altered", contact_count=2)
        eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["credits"]["consumed"] == 2)
        with psycopg.connect(service.db.url) as conn:
            edit_states(conn, "true", [], b'"credits":1', b'"credits":0', first=True)
        before = datetime.now(UTC)
        audit = the_commands_verdict(service, client)
        assert audit.chain_break is not None
        shown = signed_in(service, client.api_key).get("/console/credits", params={"audit": "now"}).text
        found = VERDICT.search(shown)
        assert (
            found and html_text.unescape(found.group(1).strip()) == f"tampered history: {audit.chain_break}"
        )
        checked = re.search(r"— checked ([^.<]+)\.", shown)
        assert checked, "the verdict says when it was checked"
        assert checked.group(1).startswith(before.strftime("%Y-%m-%d"))
