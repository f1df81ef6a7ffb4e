#!/usr/bin/env bash
# Context switches of cmc-server per enrollment: a fresh embedded default in
# a temporary directory, 300 enrollments to warm up, then N at c=8, the
# voluntary and involuntary switches of all its threads counted from
# /proc/PID/task/*/status before and after. Counts, not times: they hold
# while other work shares the machine (the rate it prints does not).
# Usage: scripts/bench-switches.sh BIN_DIR PORT N
#   e.g. scripts/bench-switches.sh target/release 18175 3000
set -euo pipefail
S=$1; PORT=$2; N=$3
B=$(mktemp -d /tmp/bench-switches.XXXXXX)
cd "$B"
printf '[server]\nlisten = "127.0.0.1:%s"\n' "$PORT" > cmc.toml
RUST_LOG=warn "$S/cmc-server" --config "$B/cmc.toml" > server.log 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    [ -f "$B/cmc-data/bootstrap-ra.pem" ] && curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.2
done
D=$B/cmc-data
bench() {
    "$S/cmc-tool" bench --url "http://127.0.0.1:$PORT/cmc/root" --ca-cert "$D/root.pem" \
        --signer-cert "$D/bootstrap-ra.pem" --signer-key "$D/bootstrap-ra.key" \
        --passphrase-file "$D/bootstrap-ra-passphrase" -n "$1" -c 8 2>&1 | grep -E "^(failures|enrollments/s)"
}
switches() {
    cat /proc/"$PID"/task/*/status | awk '/^voluntary/ { v += $2 } /^nonvoluntary/ { n += $2 } END { print v, n }'
}
bench 300 > /dev/null
read -r v0 n0 < <(switches)
bench "$N"
read -r v1 n1 < <(switches)
awk -v v=$((v1 - v0)) -v i=$((n1 - n0)) -v n="$N" \
    'BEGIN { printf "context switches per enrollment: voluntary %.2f, involuntary %.2f\n", v / n, i / n }'
kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
cd /; rm -rf "$B"
