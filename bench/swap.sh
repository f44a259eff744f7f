#!/usr/bin/env bash
# Hot reload under load: serves a copy of `hello`, drives it with 16
# clients, swaps in a changed `hello.wasm` (same tools, different bytes, so
# it must be compiled) halfway through, and prints how long after the
# rename the new version was served and how many calls failed.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}
bench_target=${BENCH_TARGET_DIR:-$HOME/.cache/berth/bench-target}
PORT=${PORT:-18686}
CALLS=${CALLS:-4000}
cargo xtask plugins >/dev/null
CARGO_TARGET_DIR=$target cargo build --quiet --release -p berth
(cd bench && CARGO_TARGET_DIR=$bench_target cargo build --quiet --release -p berth-load)

work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/plugins"
cp plugins/dist/hello.wasm "$work/plugins/"
# The changed version: the same component plus a custom section.
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
data = open(f"{work}/plugins/hello.wasm", "rb").read()
def leb(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
name, payload = b"berth-version", b"2"
body = leb(len(name)) + name + payload
open(f"{work}/hello-v2.wasm", "wb").write(data + b"\x00" + leb(len(body)) + body)
PY

BERTH_LOG=info BERTH_CACHE_DIR="$work/cache" "$target/release/berth" serve \
  --http "127.0.0.1:$PORT" --plugins "$work/plugins" 2>"$work/log" &
pid=$!
for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
"$bench_target/release/berth-load" --url "http://127.0.0.1:$PORT/mcp" --server-pid "$pid" \
  --calls "$CALLS" >"$work/load" 2>&1 &
load=$!
sleep 1.5
cp "$work/hello-v2.wasm" "$work/plugins/.hello.tmp"
t0=$(date +%s.%N)
mv "$work/plugins/.hello.tmp" "$work/plugins/hello.wasm"
wait $load || true
t1=$(grep 'plugin loaded' "$work/log" | tail -1 | cut -d' ' -f1)
served=$(python3 -c "import datetime,sys; t1=datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')).timestamp(); print(f'{t1-float(sys.argv[2]):.3f}')" "$t1" "$t0")
grep '^RESULT' "$work/load"
echo "changed plugin served ${served} s after the rename"
