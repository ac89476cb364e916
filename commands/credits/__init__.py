"""Credit use cases: `brands` (a brand, its first API key and its plan's credits) and `settle_credits`
(sends and failures settled on the brands' ledgers in batches)."""
