"""The business core: aggregates, their events, value objects and pure policies; no I/O, no clock."""
