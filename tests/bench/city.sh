#!/usr/bin/env bash
# The design's scale, measured: a city of N generated facilities (about 50 spots each, ten real city
# centres) on one server, against the same figures at the demo's 5. Reports import time, start-up to
# ready, memory (ready, and after sensor ingest has touched every facility), and req/s with latency
# for each query kind, ticket look-up, sensor ingest spread over every facility, and gate events.
#
#   tests/bench/city.sh [FACILITIES (default 10000; 5: the demo's layouts)] [SECONDS per scenario (10)]
# Env: PARKLINE_BENCH_DATABASE (default: SQLite in a temporary directory; or an empty PostgreSQL
# database's URL), PARKLINE_BENCH_PORT (18090).
set -euo pipefail
n=${1:-10000}
seconds=${2:-10}
port=${PARKLINE_BENCH_PORT:-18090}
root=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/parkline-target}
cargo build --release --quiet -p parkline-server -p parkline-loadgen --manifest-path "$root/Cargo.toml"
bin=$CARGO_TARGET_DIR/release

work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
db=(--data-dir "$work/data")
[ -n "${PARKLINE_BENCH_DATABASE:-}" ] && db+=(--database-url "$PARKLINE_BENCH_DATABASE")

if [ "$n" = 5 ]; then
    layouts="$root/assets/layouts"
else
    layouts="$work/city"
    "$bin/parkline-server" generate-city --facilities "$n" --out "$layouts" >/dev/null
fi
imported=$(RUST_LOG=warn "$bin/parkline-server" import-layout "${db[@]}" "$layouts")
echo "import        $imported"
PARKLINE_NEW_PASSWORD="bench passphrase $$" RUST_LOG=warn \
    "$bin/parkline-server" create-user "${db[@]}" --email bench@example.com --role admin >/dev/null

started=$(date +%s.%N)
RUST_LOG=warn "$bin/parkline-server" serve "${db[@]}" --listen "127.0.0.1:$port" --payment-provider simulated \
    --public-rate-per-minute 0 --caller-rate-per-minute 0 --login-rate-per-minute 0 --debounce-ms 0 \
    --access-token-ttl-s 3600 >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/server.log"; exit 1; }
ready=$(date +%s.%N)
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$pid/status"; }
echo "start-up      $(awk -v a="$started" -v b="$ready" 'BEGIN {printf "%.2f", b - a}') s to ready, RSS $(rss)"
token=$(curl -sf "http://127.0.0.1:$port/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"bench@example.com\",\"password\":\"bench passphrase $$\"}" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')

load() { "$bin/parkline-loadgen" --url "http://127.0.0.1:$port" --seconds "$seconds" "$@" | grep -E 'throughput|latency'; }
for query in availability best-spots nearby3km nearby50km; do
    echo "--- $query (32 connections; nearby: up to 50 results)"
    load availability --query "$query"
done
for query in nearby3km nearby50km; do
    echo "--- $query, up to 5 results (as many as the demo has)"
    load availability --query "$query" --limit 5
done
echo "--- ticket look-up (32 connections; 1,000 vehicles let in first, spread over every facility)"
load tickets --token "$token"
echo "--- sensor ingest spread over every facility (4 connections, 500 readings a batch)"
load --connections 4 ingest --spread --batch 500 --token "$token"
echo "RSS after ingest: $(rss)"
echo "--- gate events (32 lanes: entry, then exit)"
load gates --token "$token"
echo "RSS at the end: $(rss)"
