"""Open and click tracking of emails: `tracking_tokens` (signed pixel and link tokens),
`tracked_mail` (the pixel and rewritten links a sent body carries) and `record_tracking` (an open
or a click recorded on the step's enrollment)."""
