"""The write side: one use case per module, the event-sourced application, plain-table registries."""
