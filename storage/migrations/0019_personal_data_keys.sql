-- depends: 0017_deliverability_guard
-- 0019_personal_data_keys: the keys that seal personal data in events (crypto-shredding, decision
-- record 0027), and the keyed hash that lets a suppression outlive the address it was made for.

-- Owner: commands/personal_data/sealing.py
-- One row per key: a contact's key (key_id = the contact's id), an address consent's key (key_id =
-- the AddressConsent aggregate's id) or a brand's address-hashing key (kind 'hash'). The key itself
-- is sealed with CREDENTIALS_KEY; erasing a person sets `sealed_key` to NULL and `erased_at`, which
-- makes every event sealed with it unreadable for good. The row stays, so an erasure is answered
-- as such (and is never undone by a later enrolment minting a fresh key for the same id).
CREATE TABLE IF NOT EXISTS personal_data_keys (
    key_id uuid PRIMARY KEY,
    brand_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('contact', 'consent', 'hash')),
    sealed_key bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz,
    CHECK ((sealed_key IS NULL) = (erased_at IS NOT NULL))
);

-- Owner: commands/audience/suppressions.py
-- The keyed hash (HMAC-SHA256 with the brand's hashing key) of the suppressed address: the send
-- path and launch match on it too, so a suppression whose address was erased still holds for a
-- contact imported again later with the same address. NULL on rows written before 0019 (those
-- still match on `address`).
ALTER TABLE suppressions ADD COLUMN IF NOT EXISTS address_hash text;
CREATE INDEX IF NOT EXISTS suppressions_address_hash ON suppressions (brand_id, address_hash)
    WHERE address_hash IS NOT NULL;
