#!/usr/bin/env bash
# Local infrastructure for development, tests and CI, without Docker:
#   PostgreSQL 15 (machine's own, wal_level=logical), Redis (machine's own), and a real
#   single-node KRaft Kafka broker run from Apache's jars fetched by Maven.
# Idempotent: every step checks before it acts, so `up` twice does nothing the second time.
#
#   bash scripts/infra.sh up|down|status|reset|generate|kafka-start|kafka-stop|redis-start|redis-stop|pg-restart
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/node.sh
source "$ROOT/scripts/node.sh"
ensure_node
STATE="${SHOP_STATE_DIR:-$ROOT/.state}"
LOGS="$STATE/logs"
mkdir -p "$LOGS"

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGADMIN="${PGADMIN_USER:-postgres}"
RELAY_USER="${RELAY_DB_USER:-outbox_relay}"
# The services' databases from the manifest (lib/src/manifest.ts); <NAME>_DB renames one.
read -r -a SCHEMAS <<<"$(node "$ROOT/lib/src/manifest.ts" databases)"
DATABASES=()
for s in "${SCHEMAS[@]}"; do
  var="$(echo "$s" | tr '[:lower:]' '[:upper:]')_DB"
  DATABASES+=("${!var:-$s}")
done
REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_HOST="${KAFKA_HOST:-127.0.0.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_DIR="$STATE/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PID="$KAFKA_DIR/kafka.pid"

log() { printf '[infra %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
psql_admin() { psql -h "$PGHOST" -p "$PGPORT" -U "$PGADMIN" -v ON_ERROR_STOP=1 -Atq "$@"; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ---------------------------------------------------------------- node packages and Prisma clients
ensure_node_modules() {
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$ROOT/package-lock.json" -nt "$stamp" ]; then
    log "installing npm packages (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
}

ensure_prisma_clients() {
  # `prisma generate` never runs the schema engine, but the CLI insists that one exists;
  # any existing file satisfies it (the engine cannot be downloaded on these machines).
  local fake="$STATE/no-schema-engine"
  [ -f "$fake" ] || : >"$fake"
  local s out hash
  for s in "${SCHEMAS[@]}"; do
    out="$(grep -oE 'output *= *"[^"]+"' "$ROOT/prisma/$s/schema.prisma" | sed -E 's/.*"(.*)"/\1/')"
    out="$ROOT/prisma/$s/$out"
    hash="$(cat "$ROOT/prisma/$s/schema.prisma" "$ROOT/package-lock.json" | sha256sum | cut -c1-16)"
    if [ "$(cat "$out/.schema-hash" 2>/dev/null)" != "$hash" ]; then
      log "generating Prisma client for $s"
      (cd "$ROOT" && PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-$fake}" PRISMA_HIDE_UPDATE_MESSAGE=1 \
        npx --no-install prisma generate --config "prisma/$s/prisma.config.ts" >"$LOGS/prisma-generate-$s.log" 2>&1) \
        || { cat "$LOGS/prisma-generate-$s.log" >&2; die "prisma generate failed for $s"; }
      echo "$hash" >"$out/.schema-hash"
    fi
  done
}

# ---------------------------------------------------------------- PostgreSQL
pg_cluster() { ls /etc/postgresql | sort -V | tail -1; }

pg_ctl_cluster() {
  command -v pg_ctlcluster >/dev/null || die "pg_ctlcluster not found: set wal_level=logical on your server yourself"
  pg_ctlcluster --skip-systemctl-redirect "$(pg_cluster)" main "$@"
}

ensure_postgres() {
  if ! pg_isready -h "$PGHOST" -p "$PGPORT" -q; then
    log "starting PostgreSQL"
    pg_ctl_cluster start || true
    wait_for "PostgreSQL" 60 pg_isready -h "$PGHOST" -p "$PGPORT" -q
  fi
  # Logical replication needs wal_level=logical, which only takes effect after a restart.
  local wal slots senders conns restart=0
  wal="$(psql_admin -c 'show wal_level')"
  slots="$(psql_admin -c 'show max_replication_slots')"
  senders="$(psql_admin -c 'show max_wal_senders')"
  conns="$(psql_admin -c 'show max_connections')"
  if [ "$wal" != "logical" ]; then psql_admin -c "ALTER SYSTEM SET wal_level = 'logical'"; restart=1; fi
  if [ "$slots" -lt 32 ]; then psql_admin -c "ALTER SYSTEM SET max_replication_slots = 32"; restart=1; fi
  if [ "$senders" -lt 32 ]; then psql_admin -c "ALTER SYSTEM SET max_wal_senders = 32"; restart=1; fi
  # Tests run two instances of each service plus the relay: the default 100 is too few.
  if [ "$conns" -lt 300 ]; then psql_admin -c "ALTER SYSTEM SET max_connections = 300"; restart=1; fi
  # Some machines ship Postgres with autovacuum off. Then nothing ever analyzes or vacuums our
  # tables: every status change leaves a dead row and dead index entries behind, so lookups by
  # id get slower with every order ever placed. Measured 2026-12-01 on a machine where pgbench
  # does 7,115–7,957 tx/s: 350 orders/s had p99 1,371 ms and Postgres 3.07 CPU ms per order with
  # autovacuum off, and 459 ms at 2.20 ms with it on (450/s then held too). A reload suffices.
  if [ "$(psql_admin -c 'show autovacuum')" != "on" ]; then
    log "turning autovacuum on"
    psql_admin -c "ALTER SYSTEM SET autovacuum = on" >/dev/null
    psql_admin -c "SELECT pg_reload_conf()" >/dev/null
  fi
  if [ "$restart" = 1 ]; then
    log "restarting PostgreSQL to apply wal_level=logical and replication limits"
    pg_ctl_cluster restart
    wait_for "PostgreSQL" 60 pg_isready -h "$PGHOST" -p "$PGPORT" -q
  fi
  if [ "$(psql_admin -d postgres -c "select 1 from pg_roles where rolname = '$RELAY_USER'")" != 1 ]; then
    log "creating replication login $RELAY_USER"
    psql_admin -d postgres -c "CREATE ROLE \"$RELAY_USER\" WITH LOGIN REPLICATION"
  fi
  local db
  for db in "${DATABASES[@]}"; do
    if [ "$(psql_admin -d postgres -c "select 1 from pg_database where datname = '$db'")" != 1 ]; then
      log "creating database $db"
      psql_admin -d postgres -c "CREATE DATABASE \"$db\""
    fi
    # The relay creates its own publication (FOR TABLE needs ownership, granted after migrations) and slot.
    psql_admin -d "$db" -c "GRANT CREATE ON DATABASE \"$db\" TO \"$RELAY_USER\"" >/dev/null
  done
}

apply_migrations() {
  (cd "$ROOT" && node lib/src/db/migrate-cli.ts) >&2
  local db
  for db in "${DATABASES[@]}"; do
    psql_admin -d "$db" -c "ALTER TABLE outbox OWNER TO \"$RELAY_USER\"" >/dev/null
  done
}

# ---------------------------------------------------------------- Redis
redis_up() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

# Redis holds Idempotency-Keys beside caches: bounded memory, and when it is full it refuses
# writes (the services answer 503, or fall back to the database's key) instead of evicting a key
# that a retry would then miss. REDIS_MAXMEMORY (default 256mb) is applied to a running Redis too.
REDIS_MAXMEMORY="${REDIS_MAXMEMORY:-256mb}"
redis_limits() {
  local current
  current=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config get maxmemory-policy | tail -1)
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config set maxmemory "$REDIS_MAXMEMORY" >/dev/null
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config set maxmemory-policy noeviction >/dev/null
  [ "$current" = noeviction ] || log "Redis: maxmemory $REDIS_MAXMEMORY, policy noeviction (was $current)"
}

ensure_redis() {
  if ! redis_up; then
    log "starting Redis"
    redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /tmp --logfile "$LOGS/redis.log" >&2
    wait_for "Redis" 30 redis_up
  fi
  redis_limits
}

redis_stop() { redis_up && redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; }

# ---------------------------------------------------------------- Kafka (KRaft, single node)
ensure_kafka_jars() {
  if [ ! -f "$KAFKA_LIBS/.complete" ] || [ "$ROOT/infra/kafka/pom.xml" -nt "$KAFKA_LIBS/.complete" ]; then
    log "fetching Apache Kafka jars with Maven"
    rm -rf "$KAFKA_LIBS"
    mvn -q -B -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >"$LOGS/maven.log" 2>&1 \
      || { tail -30 "$LOGS/maven.log" >&2; die "maven could not fetch Kafka"; }
    touch "$KAFKA_LIBS/.complete"
  fi
}

kafka_java() {
  java -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" "$@"
}

write_kafka_config() {
  mkdir -p "$KAFKA_DATA"
  # One extra listener per process of the stack, advertising that process's port on the fault
  # proxy (chaos/proxy/routes.ts): a client that bootstraps through the proxy stays behind it.
  # Unused unless the stack runs with FAULT_PROXY=1.
  local listeners="" advertised="" protocols="" line_l line_a line_p
  while IFS='|' read -r line_l line_a line_p; do
    listeners+=",$line_l"; advertised+=",$line_a"; protocols+=",$line_p"
  done < <(cd "$ROOT" && KAFKA_HOST="$KAFKA_HOST" KAFKA_PORT="$KAFKA_PORT" node chaos/proxy/routes.ts kafka-listeners)
  cat >"$KAFKA_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT$listeners
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT$protocols
log.dirs=$KAFKA_DATA
num.partitions=${KAFKA_DEFAULT_PARTITIONS:-6}
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=67108864
EOF
}

kafka_running() { [ -f "$KAFKA_PID" ] && kill -0 "$(cat "$KAFKA_PID")" 2>/dev/null; }

kafka_ready() { port_open "$KAFKA_HOST" "$KAFKA_PORT" && (cd "$ROOT" && node scripts/kafka-ready.mjs) >/dev/null 2>&1; }

kafka_alive_and_ready() {
  kafka_running || { tail -20 "$LOGS/kafka.log" >&2; die "Kafka exited while starting (log: $LOGS/kafka.log)"; }
  kafka_ready
}

kafka_start() {
  ensure_kafka_jars
  if kafka_running; then kafka_ready && return 0; else
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      log "something else listens on $KAFKA_HOST:$KAFKA_PORT; using it as the Kafka broker"
      wait_for "Kafka" 60 kafka_ready
      return 0
    fi
    write_kafka_config
    if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
      log "formatting Kafka storage"
      kafka_java kafka.tools.StorageTool format -t "$(kafka_java kafka.tools.StorageTool random-uuid)" \
        -c "$KAFKA_DIR/server.properties" >>"$LOGS/kafka.log" 2>&1 || die "kafka storage format failed (see $LOGS/kafka.log)"
    fi
    log "starting Kafka on $KAFKA_HOST:$KAFKA_PORT"
    # setsid: the broker outlives this script and is not hit by the caller's Ctrl-C.
    setsid nohup java -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" >>"$LOGS/kafka.log" 2>&1 </dev/null &
    echo $! >"$KAFKA_PID"
  fi
  wait_for "Kafka" 120 kafka_alive_and_ready
}

kafka_stop() {
  if ! kafka_running; then
    rm -f "$KAFKA_PID"
    port_open "$KAFKA_HOST" "$KAFKA_PORT" && log "the broker on $KAFKA_HOST:$KAFKA_PORT was not started by this checkout; leaving it running"
    return 0
  fi
  local pid; pid="$(cat "$KAFKA_PID")"
  log "stopping Kafka (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$KAFKA_PID"
}

# ---------------------------------------------------------------- browser for the dashboard test
ensure_browser() {
  local bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
  [ -x "$bin" ] && return 0
  command -v apt-get >/dev/null || die "no $bin and no apt-get: install Chromium and set CHROMIUM_PATH"
  log "installing Debian's chromium (for the dashboard browser test)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$LOGS/apt-chromium.log" 2>&1 \
    || { tail -20 "$LOGS/apt-chromium.log" >&2; die "could not install chromium"; }
}

# ---------------------------------------------------------------- helpers
wait_for() {
  local what="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what not ready after ${secs}s (logs: $LOGS)"
    sleep 0.5
  done
}

status() {
  local ok=0
  printf '%-12s %s\n' postgres "$(pg_isready -h "$PGHOST" -p "$PGPORT" -q && echo "up (wal_level=$(psql_admin -c 'show wal_level'))" || { ok=1; echo down; })"
  printf '%-12s %s\n' redis "$(redis_up && echo up || { ok=1; echo down; })"
  printf '%-12s %s\n' kafka "$(port_open "$KAFKA_HOST" "$KAFKA_PORT" && echo "up ($KAFKA_HOST:$KAFKA_PORT$(kafka_running && echo ", pid $(cat "$KAFKA_PID")"))" || { ok=1; echo down; })"
  printf '%-12s %s\n' logs "$LOGS"
  return $ok
}

cmd="${1:-up}"
case "$cmd" in
  up)
    ensure_node_modules
    ensure_prisma_clients
    ensure_postgres
    apply_migrations
    ensure_redis
    kafka_start
    log "infrastructure ready (logs in $LOGS)"
    ;;
  generate) ensure_node_modules; ensure_prisma_clients ;;
  browser) ensure_browser ;;
  down) kafka_stop ;;
  status) status ;;
  reset)
    kafka_stop
    rm -rf "$KAFKA_DATA"
    for db in "${DATABASES[@]}"; do
      psql_admin -d "$db" -c "select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = '$db' and not active" >/dev/null 2>&1 || true
      psql_admin -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
    done
    log "reset done: Kafka data and the service databases are gone; run up again"
    ;;
  kafka-start) kafka_start ;;
  kafka-stop) kafka_stop ;;
  redis-start) ensure_redis ;;
  redis-stop) redis_stop ;;
  pg-restart) pg_ctl_cluster restart -m immediate; wait_for "PostgreSQL" 60 pg_isready -h "$PGHOST" -p "$PGPORT" -q ;;
  *) die "unknown command $cmd (up|down|status|reset|generate|browser|kafka-start|kafka-stop|redis-start|redis-stop|pg-restart)" ;;
esac
