"""The write side, grouped by capability; each package opens with its use cases.

- `campaigns/`: create, launch (reserving credits with the audience snapshot), pause, resume,
  archive, complete, and the brand's stored campaign templates;
- `audience/`: lead groups and contacts, contact import, the suppression list;
- `sending/`: enrolling a launched audience, dispatching due steps, sending them exactly once
  through sender rotation and quotas, the daily reset, personalisation, the provider port;
- `credits/`: brands and their plans, settling sends on the brands' ledgers;
- `inbound/`: replies, opt-outs and delivery reports from contacts and providers;
- `tracking/`: email opens and clicks, through signed pixel and link tokens.

Shared by all: the event-sourced application (`application`), the clock, idempotency keys.
"""
