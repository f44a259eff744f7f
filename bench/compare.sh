#!/usr/bin/env bash
# Runs berth and a native rmcp server (bench/rmcp-reference, same tool, no
# sandbox) side by side on loopback, drives both with the same load
# generator (bench/loadgen), and prints each figure with the berth/rmcp
# ratio. Ratios matter more than absolute numbers on a shared machine.
#
#   bash bench/compare.sh            # 16 clients × 2000 calls (median of 3 rounds), 20000 handshakes, 100000 idle sessions
#   CALLS=500 IDLE=10000 bash bench/compare.sh   # quicker
#   PGO=1 bash bench/compare.sh      # both built with profile-guided optimisation
#   BERTH_BIN=… RMCP_BIN=… bash bench/compare.sh   # binaries already built: no build step
#
# With PGO=1, berth is `cargo xtask release`'s binary and rmcp-reference is
# built the same way: instrumented, trained with the same berth-load runs,
# rebuilt with the merged profile.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
CLIENTS=${CLIENTS:-16}
CALLS=${CALLS:-2000}
# Rounds of calls per figure; each call figure is the median of the rounds.
REPEAT=${REPEAT:-3}
HANDSHAKES=${HANDSHAKES:-20000}
IDLE=${IDLE:-100000}
BERTH_PORT=${BERTH_PORT:-18181}
RMCP_PORT=${RMCP_PORT:-18182}
target=${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}
bench_target=${BENCH_TARGET_DIR:-$HOME/.cache/berth/bench-target}

cargo xtask plugins >/dev/null
(cd bench && CARGO_TARGET_DIR=$bench_target cargo build --quiet --release)
load=$bench_target/release/berth-load
if [ -n "${BERTH_BIN:-}" ] && [ -n "${RMCP_BIN:-}" ]; then
  berth_bin=$BERTH_BIN
  rmcp_bin=$RMCP_BIN
elif [ "${PGO:-}" = 1 ]; then
  CARGO_TARGET_DIR=$target cargo xtask release
  berth_bin=$target/pgo/use/release/berth
  rmcp_bin=$(bash bench/pgo-rmcp.sh "$bench_target" "$load")
else
  CARGO_TARGET_DIR=$target cargo build --quiet --release -p berth
  berth_bin=$target/release/berth
  rmcp_bin=$bench_target/release/rmcp-reference
fi

config=$(mktemp --suffix=.toml)
cat >"$config" <<TOML
[sessions]
max_sessions = 250000
max_sessions_per_user = 250000
idle_timeout_secs = 3600
[limits]
max_concurrent_calls = 256
TOML

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$config"; }
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listening on $1" >&2; return 1
}

start_berth() {
  BERTH_LOG=warn "$berth_bin" --config "$config" serve --http "127.0.0.1:$BERTH_PORT" \
    --plugins plugins/dist 2>/tmp/berth-bench.log &
  berth_pid=$!; pids+=("$berth_pid"); wait_port "$BERTH_PORT"
}
start_rmcp() {
  "$rmcp_bin" "127.0.0.1:$RMCP_PORT" 2>/tmp/rmcp-bench.log &
  rmcp_pid=$!; pids+=("$rmcp_pid"); wait_port "$RMCP_PORT"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

result() { # label, then the RESULT line's key to extract
  sed -n 's/^RESULT .*'"$2"'=\([^ ]*\).*/\1/p' <<<"$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

declare -A B R
run_both() { # name, loadgen args...
  local name=$1; shift
  echo "== $name" >&2
  B[$name]=$("$load" --url "http://127.0.0.1:$BERTH_PORT/mcp" --server-pid "$berth_pid" "$@" | tee /dev/stderr | grep '^RESULT')
  R[$name]=$("$load" --url "http://127.0.0.1:$RMCP_PORT/mcp" --server-pid "$rmcp_pid" "$@" | tee /dev/stderr | grep '^RESULT' || true)
}

start_berth; start_rmcp
run_both legacy --mode calls --era legacy --clients "$CLIENTS" --calls "$CALLS" --repeat "$REPEAT"
# The same requests for a tool neither server has: each answers with a
# JSON-RPC error, so this is the server's own path (HTTP, session lookup,
# dispatch) without running a tool.
run_both host --mode calls --era legacy --clients "$CLIENTS" --calls "$CALLS" --repeat "$REPEAT" --tool no_such_tool --expect-error
run_both modern --mode calls --era modern --clients "$CLIENTS" --calls "$CALLS" --repeat "$REPEAT"
run_both handshakes --mode handshakes --clients "$CLIENTS" --count "$HANDSHAKES"
stop "$berth_pid"; stop "$rmcp_pid"
# Idle memory on fresh processes.
start_berth; start_rmcp
run_both idle --mode idle --clients "$CLIENTS" --count "$IDLE"

printf '\n%-34s %14s %14s %8s\n' figure berth rmcp berth/rmcp
row() { # label, test, key
  local b r; b=$(result "${B[$2]}" "$3"); r=$(result "${R[$2]:-}" "$3")
  printf '%-34s %14s %14s %8s\n' "$1" "${b:-n/a}" "${r:-n/a}" "$(ratio "${b:-0}" "${r:-0}")"
}
row "legacy calls/s" legacy calls_per_s
row "legacy p99 ms" legacy p99_ms
row "legacy server CPU µs/call" legacy cpu_us_per_call
row "legacy, no tool run: calls/s" host calls_per_s
row "legacy, no tool run: CPU µs/call" host cpu_us_per_call
row "modern calls/s" modern calls_per_s
row "modern p99 ms" modern p99_ms
row "modern server CPU µs/call" modern cpu_us_per_call
row "handshakes/s" handshakes per_s
row "server CPU µs/handshake" handshakes cpu_us
row "KiB per idle session" idle kib_per_session
