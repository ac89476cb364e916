-- depends: 0002_read_side
-- 0005_twilio: what the Twilio adapter remembers of its calls, and each brand's messaging
-- settings (quiet hours for texts and calls, the answer to HELP).

-- Owner: consumers/providers/twilio_sends.py
-- One row per step key, written before the provider call and given the SID when the answer
-- arrives, so an ambiguous failure is reconciled without a second message or call.
CREATE TABLE IF NOT EXISTS twilio_sends (
    message_key text PRIMARY KEY,
    sender_account_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('message', 'call')),
    "to" text NOT NULL,
    "from" text NOT NULL,
    body text,
    attempted_at timestamptz NOT NULL,
    sid text
);
CREATE INDEX IF NOT EXISTS twilio_sends_sid ON twilio_sends (sid);

-- Owner: commands/sending/messaging_settings.py
-- A brand without a row has the defaults: texts and calls between 08:00 and 21:00 local time.
-- Hours are 'HH:MM' text, so the end of the day can be written '24:00'.
CREATE TABLE IF NOT EXISTS brand_messaging_settings (
    brand_id uuid PRIMARY KEY,
    allowed_from text NOT NULL DEFAULT '08:00' CHECK (allowed_from ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    allowed_until text NOT NULL DEFAULT '21:00' CHECK (allowed_until ~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$'),
    help_text text,
    updated_at timestamptz NOT NULL
);
