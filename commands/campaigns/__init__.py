"""Campaign use cases: `create_campaign`, `launch_campaign` (with `launch_audience`, the snapshot it
reserves credits for), `campaign_lifecycle` (pause, resume, archive), `complete_campaign`, and
`campaign_templates`, the brand's stored step sequences."""
