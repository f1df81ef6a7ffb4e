#!/usr/bin/env bash
# Instructions the server executes per enrollment, counted by valgrind's
# callgrind: repeatable for the same binary whatever else the machine is
# doing (unlike a rate), so it shows changes too small for `cmc-tool bench`
# to see. A fresh embedded-default cmc-server (P-384 file-key root, SQLite)
# runs under callgrind in a temporary directory; 50 enrollments warm it up,
# the counters are zeroed, N more are counted (c=4), and the profile is kept
# for `callgrind_annotate`.
# Usage: scripts/bench-callgrind.sh BIN_DIR PORT N
#   e.g. scripts/bench-callgrind.sh target/release 18177 1000
# Under valgrind AWS-LC sees no ADX/BMI2 and hashes without SHA-NI, so the
# signature and hash shares are larger than on the real CPU: compare builds
# with this, and read shares from `perf`.
set -euo pipefail
S=$1; PORT=$2; N=$3
B=$(mktemp -d /tmp/bench-callgrind.XXXXXX)
cd "$B"
printf '[server]\nlisten = "127.0.0.1:%s"\n' "$PORT" > cmc.toml
RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$B/callgrind.out" \
    "$S/cmc-server" --config "$B/cmc.toml" > server.log 2>&1 &
PID=$!
for _ in $(seq 1 300); do
    [ -f "$B/cmc-data/bootstrap-ra.pem" ] && curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.5
done
D=$B/cmc-data
bench() {
    "$S/cmc-tool" bench --url "http://127.0.0.1:$PORT/cmc/root" --ca-cert "$D/root.pem" \
        --signer-cert "$D/bootstrap-ra.pem" --signer-key "$D/bootstrap-ra.key" \
        --passphrase-file "$D/bootstrap-ra-passphrase" -n "$1" -c 4 2>&1 | grep -E "^failures"
}
bench 50
callgrind_control -z "$PID" > /dev/null 2>&1
bench "$N"
callgrind_control -d "$PID" > /dev/null 2>&1
sleep 2
kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
callgrind_annotate "$B/callgrind.out.1" 2>/dev/null |
    awk -v n="$N" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "instructions per enrollment: %.0f\n", $1 / n }'
echo "profile: $B/callgrind.out.1 (callgrind_annotate --inclusive=yes)"
