#!/usr/bin/env bash
# Builds bench/rmcp-reference with profile-guided optimisation, as
# `cargo xtask release` builds berth: instrumented, trained with the same
# berth-load runs (those of its tools it has), rebuilt with the merged
# profile. Used by `PGO=1 bash bench/compare.sh`.
#
#   bash bench/pgo-rmcp.sh BENCH_TARGET_DIR BERTH_LOAD   # prints the binary's path
set -euo pipefail
cd "$(dirname "$0")"
bench_target=$1
load=$2
base=$bench_target/pgo
sysroot=$(rustc --print=sysroot)
host=$(rustc -vV | sed -n 's/^host: //p')
profdata=$sysroot/lib/rustlib/$host/bin/llvm-profdata
[ -x "$profdata" ] || rustup component add llvm-tools >&2
rm -rf "$base/raw"; mkdir -p "$base/raw"
CARGO_TARGET_DIR=$base/generate RUSTFLAGS="-Cprofile-generate=$base/build" \
  cargo build --quiet --release -p rmcp-reference >&2

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LLVM_PROFILE_FILE=$base/raw/rmcp-%p-%m.profraw "$base/generate/release/rmcp-reference" "127.0.0.1:$port" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
url=http://127.0.0.1:$port/mcp
"$load" --url "$url" --era legacy --clients 16 --calls 1500 >&2
"$load" --url "$url" --era modern --clients 16 --calls 1500 >&2
"$load" --url "$url" --era legacy --clients 16 --calls 500 --tool no_such_tool --expect-error >&2
"$load" --url "$url" --mode handshakes --clients 16 --count 5000 >&2
kill -INT $pid; wait $pid || true
trap - EXIT

"$profdata" merge -o "$base/rmcp.profdata" "$base/raw" >&2
CARGO_TARGET_DIR=$base/use RUSTFLAGS="-Cprofile-use=$base/rmcp.profdata" \
  cargo build --quiet --release -p rmcp-reference >&2
echo "$base/use/release/rmcp-reference"
