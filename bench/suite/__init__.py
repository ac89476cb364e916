"""The benchmark suite: one module per thing measured (sends, launch, reads, overdraft), the
infrastructure they share (one PostgreSQL, a Kafka broker, the service's processes) and the report
(table and chart). `python -m bench all` runs it; see bench/__main__.py."""
