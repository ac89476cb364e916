"""Sending use cases: `enroll_contacts`, `dispatch_due_steps` (the follow-up processor),
`redispatch_steps` (the sweeper), `send_steps` (exactly once, with `send_outcomes` and
`step_locks`), `sender_accounts`, `claim_senders`, `daily_reset`, `personalisation`,
`credentials`, and `providers`, the port every provider adapter implements."""
