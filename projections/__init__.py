"""Read models built from the event store's notification log, each with its tracked position."""
