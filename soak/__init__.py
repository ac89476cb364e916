"""The soak under random faults (decision record 25): campaigns run on a real PostgreSQL and Kafka
with every role a process of its own while a nemesis, on a schedule drawn from a seed, kills roles
with SIGKILL, pauses them with SIGSTOP/SIGCONT and restarts PostgreSQL and the broker; then a
checker reads the whole history and the providers' fakes. `python -m soak --schedules 20`; a
schedule's seed replays it (`--seed S --schedules 1`). A tool that drives the service from outside,
like the benchmarks: it starts the service's command line and talks to it over HTTP only."""
