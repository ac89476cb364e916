"""Personal data: `sealing` (per-person keys and keyed hashes), `sealed_events` (the event store's
mapper that seals and opens them), `erase_person` (crypto-shredding a person) and `retention` (how
long message bodies and provider payloads are kept)."""
