-- depends: 0011_twilio_webhook_receipts
-- 0012_brand_accounts: a brand's standing and next plan renewal, and the reference of a purchase.

-- Owner: commands/credits/brands.py (standing written by commands/credits/brand_standing.py,
-- renewals by commands/credits/plan_renewals.py; the brand's CreditLedger events are the record,
-- these columns are what the request gate, the scheduler, the workers and the cron read cheaply).
-- `suspended_at` is set while the brand is suspended (NULL: active). `next_renewal_at` is the next
-- moment its plan renews (00:00 UTC on its renewal day); NULL for a brand made before renewals
-- existed, which the cron then schedules from the next renewal day on, granting nothing past.
ALTER TABLE brands ADD COLUMN IF NOT EXISTS suspended_at timestamptz;
ALTER TABLE brands ADD COLUMN IF NOT EXISTS suspension_reason text;
ALTER TABLE brands ADD COLUMN IF NOT EXISTS next_renewal_at timestamptz;
CREATE INDEX IF NOT EXISTS brands_suspended ON brands (id) WHERE suspended_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS brands_next_renewal ON brands (next_renewal_at);

-- Owner: projections/credit_ledger_entries.py
-- A purchase's invoice or payment id (NULL for every other entry; no grant before this migration
-- was a purchase, so the rows already there are right as they are).
ALTER TABLE credit_ledger_entries ADD COLUMN IF NOT EXISTS reference text;
