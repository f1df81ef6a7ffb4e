#!/usr/bin/env bash
# Issue 15 "durable writes": one `cmc-tool bench -n N -c C` run against a
# fresh embedded-default cmc-server (P-384 file-key root, the bootstrap RA as
# signer) in a temporary directory, removed afterwards. Prints the bench's
# summary lines and, per enrollment, the bytes the server wrote
# (/proc/PID/io write_bytes, counted when pages are dirtied) and the durable
# store commits (the server's cmc_store_commits_total, when it has it;
# with STRACE=1 also the fsync/fdatasync calls counted by strace, which
# works for servers without the counter and slows the server down).
# STORE=postgresql://... puts the store there (an empty database) instead
# of the embedded SQLite file (write_bytes is then the server's only).
# Usage: scripts/bench-durable.sh SERVER_BIN_DIR TOOL_BIN_DIR PORT [N] [C]
# e.g.   scripts/bench-durable.sh target/release target/release 18080 2000 8
set -euo pipefail
S=$1; T=$2; PORT=$3; N=${4:-2000}; C=${5:-8}
B=$(mktemp -d /tmp/bench.XXXXXX)
cd "$B"
: > cmc.toml
[ -n "${STORE:-}" ] && printf 'store = "%s"\n' "$STORE" >> cmc.toml
printf '[server]\nlisten = "127.0.0.1:%s"\n' "$PORT" >> cmc.toml
if [ "${STRACE:-0}" = 1 ]; then
    RUST_LOG=warn strace -f -qq -c -e trace=fsync,fdatasync -o "$B/strace.txt" \
        "$S/cmc-server" --config "$B/cmc.toml" > server.log 2>&1 &
else
    RUST_LOG=warn "$S/cmc-server" --config "$B/cmc.toml" > server.log 2>&1 &
fi
PID=$!
for i in $(seq 1 100); do [ -f "$B/cmc-data/bootstrap-ra.pem" ] && curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
SPID=$(pgrep -P "$PID" -x cmc-server || echo "$PID")
D=$B/cmc-data
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
wbytes() { awk '/^write_bytes/ { print $2 }' "/proc/$SPID/io"; }
W0=$(wbytes); C0=$(metric cmc_store_commits_total); U0=$(metric cmc_store_units_total)
"$T/cmc-tool" bench --url "http://127.0.0.1:$PORT/cmc/root" --ca-cert "$D/root.pem" \
    --signer-cert "$D/bootstrap-ra.pem" --signer-key "$D/bootstrap-ra.key" \
    --passphrase-file "$D/bootstrap-ra-passphrase" -n "$N" -c "$C" 2>&1 | grep -Ei "enrollments/s|p50|p99|ratio|failed|error" | head -6
W1=$(wbytes); C1=$(metric cmc_store_commits_total); U1=$(metric cmc_store_units_total)
echo "bytes written per enrollment: $(( (W1 - W0) / N ))"
if [ -n "$C0" ]; then
    awk -v c=$((C1 - C0)) -v u=$((U1 - U0)) -v n="$N" \
        'BEGIN { printf "store commits per enrollment: %.3f (%d commits, %d units)\n", c / n, c, u }'
fi
kill -TERM "$SPID"; wait $PID 2>/dev/null || true
if [ -f "$B/strace.txt" ]; then
    awk -v n="$N" '$NF == "fsync" || $NF == "fdatasync" { s += $4 } END { printf "fsync+fdatasync per enrollment (whole run, start included): %.2f\n", s / n }' "$B/strace.txt"
fi
cd /; rm -rf "$B"
