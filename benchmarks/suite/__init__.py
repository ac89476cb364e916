"""The benchmark suite: one module per thing measured (sends, launch, reads, overdraft), the
infrastructure they share (one PostgreSQL, a Kafka broker, the service's processes) and the report
(table and chart). `python -m benchmarks all` runs it; see benchmarks/__main__.py."""
