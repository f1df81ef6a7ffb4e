#!/usr/bin/env bash
# One `cmc-tool bench -n 2000 -c 8` run against a fresh embedded-default
# cmc-server (P-384 file-key root, the bootstrap RA as signer) in a temporary
# directory, which is removed afterwards; prints the bench's summary lines.
# Usage: scripts/bench-server.sh SERVER_BIN_DIR TOOL_BIN_DIR PORT
# e.g.   scripts/bench-server.sh target/release target/release 18080
set -euo pipefail
S=$1; T=$2; PORT=$3
B=$(mktemp -d /tmp/bench.XXXXXX)
cd "$B"
printf '[server]\nlisten = "127.0.0.1:%s"\n' "$PORT" > cmc.toml
RUST_LOG=warn "$S/cmc-server" --config "$B/cmc.toml" > server.log 2>&1 &
PID=$!
for i in $(seq 1 50); do [ -f "$B/cmc-data/bootstrap-ra.pem" ] && curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
D=$B/cmc-data
"$T/cmc-tool" bench --url "http://127.0.0.1:$PORT/cmc/root" --ca-cert "$D/root.pem" \
    --signer-cert "$D/bootstrap-ra.pem" --signer-key "$D/bootstrap-ra.key" \
    --passphrase-file "$D/bootstrap-ra-passphrase" -n 2000 -c 8 2>&1 | grep -Ei "enrollments/s|p50|p99|ratio|failed|error" | head -6
kill -TERM $PID; wait $PID 2>/dev/null || true
cd /; rm -rf "$B"
