"""The event history for analysts and auditors: exports and the credit audit, read from raw events."""
