"""Audience use cases: `lead_groups` (groups and contacts), `import_contacts` (CSV and JSON, with
`contact_rows` and `contact_normalisation`), `suppressions` (who must never be contacted) and
`withdraw_suppressed` (what a new suppression takes back)."""
