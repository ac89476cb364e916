-- depends: 0012_brand_accounts
-- 0014_api_keys: several named keys per brand, revocable, each stored as the sha256 of the key.
--
-- Until now a brand had one key, its digest in brands.api_key_sha256. Every such key becomes the
-- brand's key named "default" (its visible prefix is unknown: every key of that time began
-- "cs_"), so old keys keep working; the brands column is no longer read or written and may be
-- empty. A revocation takes the next number of api_key_revocations: every API process polls for
-- numbers past the last it saw, to forget the revoked keys it remembers (decision record 20).
-- The history of who issued and revoked which key is in the event store (domain/api_keys.py);
-- this table is written in the same transaction as those events.

-- Owner: commands/access/api_keys.py
CREATE TABLE IF NOT EXISTS api_keys (
    id uuid PRIMARY KEY,
    brand_id uuid NOT NULL REFERENCES brands(id),
    name text NOT NULL,
    prefix text NOT NULL,
    key_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz,
    revocation bigint UNIQUE
);

CREATE INDEX IF NOT EXISTS api_keys_by_brand ON api_keys (brand_id, created_at, id);

CREATE SEQUENCE IF NOT EXISTS api_key_revocations;

INSERT INTO api_keys (id, brand_id, name, prefix, key_sha256, created_at)
SELECT gen_random_uuid(), id, 'default', 'cs_', api_key_sha256, created_at
FROM brands WHERE api_key_sha256 IS NOT NULL
ON CONFLICT (key_sha256) DO NOTHING;

ALTER TABLE brands ALTER COLUMN api_key_sha256 DROP NOT NULL;
