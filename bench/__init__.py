"""Benchmarks of the Campaign Service, measured and never asserted: `python -m bench all` runs the
suite (bench/suite/) and writes bench/RESULTS.md; the older single benchmarks run on their own."""
