#!/usr/bin/env bash
# Fetches, starts and stops a real single-node Apache Kafka broker (KRaft mode,
# combined broker+controller, listening on 127.0.0.1 only) for integration
# tests. `fetch` downloads the broker jars once per machine with Maven (see
# scripts/kafka/pom.xml) into ${XDG_CACHE_HOME:-~/.cache}/campaign-service/;
# `start` fetches if needed, wipes and formats the state dir, starts the broker
# in the background, waits until it answers and prints exactly one line on
# stdout, `KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:<port>` (all else goes to stderr);
# `stop` stops it (exit 0 when it is not running); `resume` starts it again on
# the state dir a `start` formatted, topics and committed offsets kept (same
# ports: pass the same KAFKA_* settings). The readiness probe needs a
# Python with kafka-python: pass it as PYTHON=... (default: the repo's
# .venv/bin/python if present, else python3). Other knobs: KAFKA_PORT (19092),
# KAFKA_CONTROLLER_PORT (19093), KAFKA_STATE_DIR (/tmp/campaign-service-kafka),
# KAFKA_VERSION (4.1.1), KAFKA_HEAP_OPTS, KAFKA_START_TIMEOUT (60 s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-/tmp/campaign-service-kafka}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/campaign-service/kafka-$KAFKA_VERSION"
LIBS="$CACHE_DIR/libs"
PID_FILE="$KAFKA_STATE_DIR/kafka.pid"
LOG_FILE="$KAFKA_STATE_DIR/kafka.log"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

fetch() {
  [[ -f "$LIBS/.complete" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch Kafka $KAFKA_VERSION)"
  log "fetching Kafka $KAFKA_VERSION jars into $LIBS"
  local tmp="$CACHE_DIR/libs.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  mvn -q -B -Dstyle.color=never -f "$ROOT/scripts/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >&2 || { rm -rf "$tmp"; die "mvn fetch failed"; }
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing"; }
  touch "$tmp/.complete"
  rm -rf "$LIBS"; mv "$tmp" "$LIBS"
}

# Prints the pid from the pid file if that process is alive and is our broker.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  [[ -n "$pid" ]] && ps -p "$pid" -o args= 2>/dev/null | grep -qF "kafka.Kafka $KAFKA_STATE_DIR/server.properties" || return 1
  echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$PID_FILE"; return 0; fi
  log "stopping broker pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "no exit after 20 s, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$PID_FILE"
}

write_config() {
  cat >"$KAFKA_STATE_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_STATE_DIR/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  cat >"$KAFKA_STATE_DIR/log4j2.properties" <<EOF
appender.file.type=File
appender.file.name=FILE
appender.file.fileName=$LOG_FILE
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=FILE
EOF
}

java_run() {
  # C1-only JIT + serial GC: starts ~30% faster and smaller; plenty for tests.
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of flags
  exec java $KAFKA_HEAP_OPTS -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    -Dlog4j2.configurationFile="$KAFKA_STATE_DIR/log4j2.properties" -cp "$LIBS/*" "$@"
}

fail_start() {
  log "$1"; log "---- tail of $LOG_FILE ----"
  tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true
  tail -n 20 "$KAFKA_STATE_DIR/kafka.out" >&2 2>/dev/null || true
  stop; exit 1
}

start() {
  fetch
  stop
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_busy "$port" && die "127.0.0.1:$port is already in use by another process"
  done
  local cluster_id  # random, in Kafka's Uuid form (base64url, no padding, no leading '-')
  cluster_id="$("$PYTHON" -c 'import base64, uuid, kafka
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"): print(s); break' 2>/dev/null)" \
    || die "$PYTHON lacks kafka-python; pass PYTHON=<your venv's python>"
  rm -rf "$KAFKA_STATE_DIR"; mkdir -p "$KAFKA_STATE_DIR"
  write_config
  (java_run kafka.tools.StorageTool format --standalone -t "$cluster_id" \
    -c "$KAFKA_STATE_DIR/server.properties") >"$KAFKA_STATE_DIR/format.out" 2>&1 \
    || { cat "$KAFKA_STATE_DIR/format.out" >&2; die "storage format failed"; }
  launch
}

# Starts the broker on the formatted state dir, waits until it answers, prints its address.
launch() {
  # The subshell execs java, so $! is the broker's pid. Its stdio is detached,
  # so a caller's `$(scripts/kafka.sh start)` does not hang on the broker.
  (trap '' HUP; java_run kafka.Kafka "$KAFKA_STATE_DIR/server.properties") \
    </dev/null >"$KAFKA_STATE_DIR/kafka.out" 2>&1 &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  log "broker pid $pid, waiting up to ${KAFKA_START_TIMEOUT}s on 127.0.0.1:$KAFKA_PORT"
  "$PYTHON" - "127.0.0.1:$KAFKA_PORT" "$pid" "$KAFKA_START_TIMEOUT" <<'EOF' >&2 || fail_start "broker did not become ready"
import logging, os, socket, sys, time
from kafka import KafkaAdminClient
logging.disable(logging.CRITICAL)
bootstrap, pid, deadline = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
host, port = bootstrap.split(":")
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("broker process exited")
    try:  # cheap port poll first: the client's reconnect backoff grows up to 30 s
        socket.create_connection((host, int(port)), timeout=1).close()
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000,
                                 bootstrap_timeout_ms=3000, reconnect_backoff_max_ms=200)
        try:
            admin.list_topics()
            sys.exit(0)
        finally:
            admin.close()
    except Exception:
        time.sleep(0.1)
sys.exit("timed out")
EOF
  echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"
}

# A broker coming back after an outage: the same state, so clients find their topics and offsets.
resume() {
  fetch
  stop
  [[ -f "$KAFKA_STATE_DIR/server.properties" ]] || die "no broker state in $KAFKA_STATE_DIR; use start"
  grep -qF "PLAINTEXT://127.0.0.1:$KAFKA_PORT," "$KAFKA_STATE_DIR/server.properties" \
    || die "$KAFKA_STATE_DIR was started on another KAFKA_PORT than $KAFKA_PORT"
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_busy "$port" && die "127.0.0.1:$port is already in use by another process"
  done
  launch
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  resume) resume ;;
  *) echo "usage: $0 fetch|start|stop|resume" >&2; exit 2 ;;
esac
