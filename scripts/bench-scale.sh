#!/usr/bin/env bash
# Issue 15 scale figures (BENCHMARKS.md, "Issue 15: scale"): a fresh
# embedded-default cmc-server (SQLite, P-384 file-key root), then
#   1. `cmc-tool bench -n 2000 -c 8` RUNS times on the empty store;
#   2. `cmc-tool bench-load` of CERTS synthetic certificates, REVOKED of them
#      revoked, into the server's store (server stopped);
#   3. `cmc-tool bench-load --crl`: one CRL over them, timed;
#   4. the server again on the loaded store: GET /crl (first and cached),
#      then the same bench RUNS times.
# The working directory (store included) is removed at the end.
# Usage: scripts/bench-scale.sh BIN_DIR PORT CERTS REVOKED [RUNS] [WORK_PARENT]
# e.g.   scripts/bench-scale.sh target/release 18081 10000000 1000000 3 /work
set -euo pipefail
R=$(cd "$1" && pwd); PORT=$2; CERTS=$3; REVOKED=$4; RUNS=${5:-3}; PARENT=${6:-/tmp}
B=$(mktemp -d "$PARENT/bench-scale.XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; fi
    cd /
    rm -rf "$B"
}
trap cleanup EXIT
cd "$B"
D=$B/cmc-data
printf 'data_dir = "%s"\n[server]\nlisten = "127.0.0.1:%s"\n' "$D" "$PORT" > cmc.toml
start() {
    RUST_LOG=warn "$R/cmc-server" --config "$B/cmc.toml" >> server.log 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do
        [ -f "$D/bootstrap-ra.pem" ] && curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null && return
        sleep 0.2
    done
    echo "the server did not start"; cat server.log; exit 1
}
stop() { kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
bench() {
    for i in $(seq 1 "$RUNS"); do
        "$R/cmc-tool" bench --url "http://127.0.0.1:$PORT/cmc/root" --ca-cert "$D/root.pem" \
            --signer-cert "$D/bootstrap-ra.pem" --signer-key "$D/bootstrap-ra.key" \
            --passphrase-file "$D/bootstrap-ra-passphrase" -n 2000 -c 8 2>&1 \
            | grep -Ei "enrollments/s:|p99|failures:" | tr -s ' ' | paste -sd ' ' | sed "s/^/run $i: /"
    done
}
crl_get() {
    curl -s -o /dev/null -w "GET /crl ($1): %{http_code}, %{size_download} bytes in %{time_total} s\n" \
        "http://127.0.0.1:$PORT/crl/root.crl"
}
start
echo "== empty store"
bench
stop
echo "== bench-load: $CERTS certificates, $REVOKED revoked"
"$R/cmc-tool" --config cmc.toml bench-load --ca root --certs "$CERTS" --revoked "$REVOKED"
du -sh "$D"
echo "== one CRL over them"
"$R/cmc-tool" --config cmc.toml bench-load --ca root --crl
start
echo "== with $CERTS certificates stored"
crl_get "first: the stored CRL checked against the store"
crl_get "cached"
bench
stop
