#!/usr/bin/env bash
# One `cmc-tool bench` run against a fresh embedded-default cmc-server
# (P-384 file-key root, the bootstrap RA as signer, SQLite) in a temporary
# directory, which is removed afterwards; prints the bench's summary lines.
# Usage: scripts/bench-server.sh SERVER_BIN_DIR TOOL_BIN_DIR PORT [BENCH ARGS...]
# e.g.   scripts/bench-server.sh target/release target/release 18080
#        scripts/bench-server.sh target/release target/release 18080 -n 2000 -c 8 --no-keep-alive
#        scripts/bench-server.sh target/release target/release 18080 -n 4000 -c 8 --rate 300
# BENCH ARGS default to `-n 2000 -c 8` (closed loop, kept-alive connections);
# with --json the bench's whole JSON report is printed instead.
set -euo pipefail
S=$1; T=$2; PORT=$3; shift 3
[ $# -gt 0 ] || set -- -n 2000 -c 8
B=$(mktemp -d /tmp/bench.XXXXXX)
cd "$B"
printf '[server]\nlisten = "127.0.0.1:%s"\n' "$PORT" > cmc.toml
RUST_LOG=warn "$S/cmc-server" --config "$B/cmc.toml" > server.log 2>&1 &
PID=$!
for i in $(seq 1 50); do [ -f "$B/cmc-data/bootstrap-ra.pem" ] && curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
D=$B/cmc-data
FILTER='concurrency|mode|failures|enrollments/s|latency |send after|per enrollment|cores busy|error|measured /'
case " $* " in *" --json "*) FILTER='.' ;; esac
# The server's CPU time (user + system) over the whole bench run.
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
C0=$(cpu)
"$T/cmc-tool" bench --url "http://127.0.0.1:$PORT/cmc/root" --ca-cert "$D/root.pem" \
    --signer-cert "$D/bootstrap-ra.pem" --signer-key "$D/bootstrap-ra.key" \
    --passphrase-file "$D/bootstrap-ra-passphrase" "$@" 2>&1 | grep -Ei "$FILTER" || true
C1=$(cpu)
[ "$FILTER" = . ] || echo "server CPU during the run: $(awk -v t="$(getconf CLK_TCK)" -v d=$((C1 - C0)) 'BEGIN { printf "%.2f", d / t }') s"
kill -TERM $PID; wait $PID 2>/dev/null || true
cd /; rm -rf "$B"
