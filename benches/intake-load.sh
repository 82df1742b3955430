#!/usr/bin/env bash
# Load figures of the public intake side: submissions and status lookups
# per second with p50/p99 latency at 1, 16 and 64 concurrent clients, and
# the RSS of the `sunlight serve` process idle and under load.
#
#   benches/intake-load.sh [sqlite|postgres] [seconds per run]
#
# Needs wrk (Debian: apt-get install wrk) and, for postgres, a server at
# $SUNLIGHT_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
# Rate limits are lifted for the run; everything else is the default
# configuration (Argon2id m=19 MiB t=2, one stretch per core).
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=${1:-sqlite}
DUR=${2:-15}
cargo build --release -q -p sunlight
BIN=$PWD/target/release/sunlight
DIR=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
cat > "$DIR/bench.toml" <<TOML
intake_addr = "127.0.0.1:$PORT"
triage_addr = "127.0.0.1:$((PORT + 1))"
log = "warn"
[intake.rate_limits]
submissions_per_minute = 100000000
submission_burst = 1000000
lookups_per_minute = 100000000
lookup_burst = 1000000
TOML
if [ "$ENGINE" = postgres ]; then
  ADMIN=${SUNLIGHT_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
  DB=sunlight_bench_$$
  psql -q "$ADMIN" -c "CREATE DATABASE $DB"
  export SUNLIGHT_DATABASE_URL="${ADMIN%/*}/$DB"
fi
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  [ "$ENGINE" = postgres ] && psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"$BIN" --config "$DIR/bench.toml" --data-dir "$DIR/data" init > /dev/null
"$BIN" --config "$DIR/bench.toml" --data-dir "$DIR/data" serve > /dev/null 2> "$DIR/serve.log" &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break; sleep 0.1; done
rss() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' "/proc/$PID/status"; }
echo "engine=$ENGINE seconds=$DUR cores=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\""
echo "idle RSS: $(rss VmRSS) MiB"
printf '%-10s %8s %10s %10s %10s %8s\n' what clients req/s p50 p99 non2xx
run() { # $1 label, $2 clients, $3 script, $4 path
  local threads=$(( $2 < 2 ? 1 : 2 ))
  local out
  out=$(wrk -t"$threads" -c"$2" -d"${DUR}s" --timeout 30s --latency -s "benches/$3" "http://127.0.0.1:$PORT$4")
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ { print $2 }' <<< "$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<< "$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<< "$out")
  bad=$(awk '/Non-2xx/ { print $5 }' <<< "$out")
  printf '%-10s %8s %10s %10s %10s %8s\n' "$1" "$2" "$rps" "$p50" "$p99" "${bad:-0}"
}
for c in 1 16 64; do run submit "$c" report.lua /api/v1/reports; done
CODE=$(curl -sf -H 'Content-Type: application/json' \
  -d '{"unit":"province","category":"other","accused":{"name":"x","role":"ordinary"},"selection_stage":"none","narrative":"lookup bench"}' \
  "http://127.0.0.1:$PORT/api/v1/reports" | sed 's/.*"tracking_code":"\([0-9-]*\)".*/\1/')
export CODE
for c in 1 16 64; do run lookup "$c" lookup.lua /api/v1/status; done
echo "peak RSS under load: $(rss VmHWM) MiB"
