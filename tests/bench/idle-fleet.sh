#!/usr/bin/env bash
# Idle WebSocket connections across several server instances sharing one PostgreSQL database.
#
# One process may hold at most `ulimit -Hn` sockets (20,000 on the development machine, and raising it
# needs CAP_SYS_RESOURCE), so 100,000 connections on one machine means several instances: the
# deployment PostgreSQL already supports. Reports connections held and server memory per connection
# (RSS while held minus RSS before).
#
#   tests/bench/idle-fleet.sh [INSTANCES] [CONNECTIONS_PER_INSTANCE]
# Env: PARKLINE_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432), PARKLINE_BENCH_PORT (18080).
set -euo pipefail
instances=${1:-6}
per=${2:-17000}
pg=${PARKLINE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
port0=${PARKLINE_BENCH_PORT:-18080}
root=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/parkline-target}
cargo build --release --quiet -p parkline-server -p parkline-loadgen --manifest-path "$root/Cargo.toml"
bin=$CARGO_TARGET_DIR/release

db=parkline_idle_$$
psql "$pg/postgres" -qc "create database $db"
work=$(mktemp -d)
pids=()
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    psql "$pg/postgres" -qc "drop database if exists $db with (force)" || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "$1"; head -5 "$work"/*.log; exit 1; }

common=(--database-url "$pg/$db" --jwt-secret "idle-fleet-$$-$(head -c 24 /dev/urandom | base64)" --caller-rate-per-minute 0 --login-rate-per-minute 0
        --public-rate-per-minute 0 --access-token-ttl-s 3600 --payment-provider simulated)
wait_ready() { for _ in $(seq 200); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.2; done; fail "instance on port $1 not ready"; }
for i in $(seq 0 $((instances - 1))); do
    port=$((port0 + i))
    if [ "$i" = 0 ]; then
        RUST_LOG=warn "$bin/parkline-server" demo --simulate-every-s 0 --listen "127.0.0.1:$port" "${common[@]}" >"$work/server$i.log" 2>&1 &
    else
        RUST_LOG=warn "$bin/parkline-server" serve --listen "127.0.0.1:$port" "${common[@]}" >"$work/server$i.log" 2>&1 &
    fi
    pids+=($!)
    server_pids[$i]=$!
    wait_ready "$port"
done
token=$(curl -sf "http://127.0.0.1:$port0/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"driver@demo.parkline","password":"parkline-demo"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
before=0
for p in "${server_pids[@]}"; do before=$((before + $(rss_kb "$p"))); done

hold=$((per / 1000 * 2 + 60))
for i in $(seq 0 $((instances - 1))); do
    "$bin/parkline-loadgen" --url "http://127.0.0.1:$((port0 + i))" --connections "$per" --seconds "$hold" \
        idle --token "$token" >"$work/client$i.log" 2>&1 &
    pids+=($!)
done
for i in $(seq 0 $((instances - 1))); do
    until grep -q '^holding' "$work/client$i.log"; do
        grep -q 'failed\|Error' "$work/client$i.log" && { cat "$work/client$i.log"; exit 1; }
        sleep 1
    done
done
sleep 5
held=0
for i in $(seq 0 $((instances - 1))); do held=$((held + $(awk '/^holding/ {print $2}' "$work/client$i.log"))); done
after=0
for p in "${server_pids[@]}"; do after=$((after + $(rss_kb "$p"))); done
echo "instances     $instances (PostgreSQL $db)"
echo "held          $held idle WebSocket connections, each subscribed to a facility"
echo "server RSS    $((before / 1024)) MiB before, $((after / 1024)) MiB while held"
awk -v a="$after" -v b="$before" -v n="$held" 'BEGIN { printf "per conn      %.1f KB of server memory\n", (a - b) * 1.024 / n }'
