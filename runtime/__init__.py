"""The composition root: settings, wiring of every part, the CLI and the embedded default."""
