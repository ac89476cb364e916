"""Benchmarks of the Campaign Service, measured and never asserted: `python -m benchmarks all` runs the
suite (benchmarks/suite/) and writes benchmarks/RESULTS.md; the older single benchmarks run on their own."""
