"""Credit use cases: `brands` (a brand, its first API key and its plan's credits), `grant_credits`
(purchases, once per reference), `plan_renewals` (one plan grant per monthly period, in the daily
cron), `brand_standing` (plan changes, suspension and reinstatement), `brand_accounts` (what
operators see of a brand), `open_attempts` (the steps at a provider, whose credit waits for their
outcome) and `settle_credits` (sends and failures settled on the brands' ledgers in batches)."""
