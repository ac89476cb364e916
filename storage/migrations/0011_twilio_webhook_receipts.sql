-- depends: 0010_settlement_open_attempts
-- 0011_twilio_webhook_receipts: the signed Twilio webhooks the service has handled, so a captured
-- request replayed later changes nothing (a signature carries no time, so it never expires).

-- Owner: commands/inbound/webhook_receipts.py
-- One row per brand, webhook and Twilio SID (a text's MessageSid; a delivery report's MessageSid
-- and status; a call's CallSid, status and detection result), written when the request is first
-- received (`received_seq` orders receptions) and marked handled once its effect is recorded. An
-- opt-out or opt-in keyword also keeps the number it came from, so an older keyword applied late
-- cannot undo a newer one. Rows of delivery reports and calls are deleted after 30 days by the
-- daily cron (a late report changes nothing anyway: a step keeps its first); rows of inbound texts
-- stay, one per text a contact sent, as a replayed old text could otherwise stop a new campaign.
CREATE TABLE IF NOT EXISTS twilio_webhook_receipts (
    brand_id uuid NOT NULL,
    webhook text NOT NULL CHECK (webhook IN ('sms', 'status', 'voice')),
    sid text NOT NULL CHECK (length(sid) BETWEEN 1 AND 64),
    event text NOT NULL DEFAULT '' CHECK (length(event) <= 140),
    number text CHECK (length(number) <= 16),
    received_seq bigint GENERATED ALWAYS AS IDENTITY,
    received_at timestamptz NOT NULL,
    handled_at timestamptz,
    PRIMARY KEY (brand_id, webhook, sid, event)
);
CREATE INDEX IF NOT EXISTS twilio_webhook_receipts_keywords
    ON twilio_webhook_receipts (brand_id, number, received_seq) WHERE number IS NOT NULL;
CREATE INDEX IF NOT EXISTS twilio_webhook_receipts_callbacks
    ON twilio_webhook_receipts (received_at) WHERE webhook <> 'sms';
