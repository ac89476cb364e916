"""The deliverability guard: each brand's limits, and the pauses of campaigns and mailboxes whose
recent sends bounce or opt out over them (decision record 0024)."""
