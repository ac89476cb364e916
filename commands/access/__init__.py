"""Access use cases: `api_keys` (a brand's keys issued, listed and revoked, each change an event)
and `key_lookup` (what the API's request gate asks on its way: whose key this is, which keys were
revoked lately, when keys were last used)."""
