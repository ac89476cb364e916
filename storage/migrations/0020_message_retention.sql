-- depends: 0019_personal_data_keys
-- 0020_message_retention: how long each brand keeps the message bodies and provider payloads held
-- for debugging (docs/personal-data.md); the daily cron forgets what is older.

-- Owner: commands/personal_data/retention.py
-- A brand with no row keeps them DEFAULT_DAYS (90).
CREATE TABLE IF NOT EXISTS brand_retention_settings (
    brand_id uuid PRIMARY KEY,
    message_days integer NOT NULL CHECK (message_days BETWEEN 1 AND 3650),
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sandbox_outbox_sent_at ON sandbox_outbox (sent_at);
CREATE INDEX IF NOT EXISTS twilio_sends_body_attempted_at ON twilio_sends (attempted_at) WHERE body IS NOT NULL;
CREATE INDEX IF NOT EXISTS sandbox_refusals_refused_at ON sandbox_refusals (refused_at);
