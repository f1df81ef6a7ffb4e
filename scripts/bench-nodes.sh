#!/usr/bin/env bash
# `cmc-tool bench` against NODES (1 or 2) cmc-server processes sharing one
# PostgreSQL store (a fresh schema, dropped afterwards) and one data
# directory: the first node's first start creates the embedded setup
# (P-384 root, bootstrap RA) and the second reads the CA key from there.
# With 2 nodes, two bench processes run at once, one per node, each with
# half of the requests and connections; each node's summary is printed,
# then the total: all successes / the longer wall time.
# Usage: scripts/bench-nodes.sh SERVER_BIN_DIR TOOL_BIN_DIR PG_URL PORT NODES N C [BENCH ARGS...]
#   PG_URL  a database this user may create schemas in, e.g.
#           postgresql://cmc@127.0.0.1:55432/load_bench
#   PORT    node i listens on PORT+i
#   N, C    requests and connections in all (split between the nodes)
#   BENCH ARGS go to each node's bench as they are (so a --rate is per node)
# e.g.   scripts/bench-nodes.sh target/release target/release \
#            postgresql://cmc@127.0.0.1:55432/load_bench 18090 2 2000 8
# Needs psql and jq.
set -euo pipefail
S=$1; T=$2; PG=$3; PORT=$4; NODES=$5; N=$6; C=$7; shift 7
case $NODES in 1|2) ;; *) echo "NODES must be 1 or 2" >&2; exit 2 ;; esac
SCHEMA=bench_$$
psql -q "$PG" -c "CREATE SCHEMA $SCHEMA"
case $PG in *\?*) SEP='&' ;; *) SEP='?' ;; esac
STORE="$PG${SEP}options=-csearch_path%3D$SCHEMA"
B=$(mktemp -d /tmp/bench-nodes.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    psql -q "$PG" -c "SET client_min_messages = warning" -c "DROP SCHEMA $SCHEMA CASCADE" || true
    rm -rf "$B"
}
trap cleanup EXIT
D=$B/cmc-data
for i in $(seq 0 $((NODES - 1))); do
    mkdir -p "$B/node$i"
    printf 'data_dir = "%s"\nstore = "%s"\n[server]\nlisten = "127.0.0.1:%s"\n' \
        "$D" "$STORE" $((PORT + i)) > "$B/node$i/cmc.toml"
    RUST_LOG=warn "$S/cmc-server" --config "$B/node$i/cmc.toml" > "$B/node$i/server.log" 2>&1 &
    PIDS+=($!)
    # The next node starts once this one answers (the first creates the CA).
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$((PORT + i))/healthz" >/dev/null && break; sleep 0.2
    done
done
for i in $(seq 0 $((NODES - 1))); do
    "$T/cmc-tool" bench --url "http://127.0.0.1:$((PORT + i))/cmc/root" --ca-cert "$D/root.pem" \
        --signer-cert "$D/bootstrap-ra.pem" --signer-key "$D/bootstrap-ra.key" \
        --passphrase-file "$D/bootstrap-ra-passphrase" -n $((N / NODES)) -c $((C / NODES)) \
        --json "$@" > "$B/bench$i.json" 2> "$B/bench$i.err" &
    BENCH[$i]=$!
done
for i in $(seq 0 $((NODES - 1))); do wait "${BENCH[$i]}" || { cat "$B/bench$i.err" >&2; exit 1; }; done
for i in $(seq 0 $((NODES - 1))); do
    jq -r --arg node "$i" '"node \($node): \(.successes)/\(.requests) ok, \(.enrollments_per_s * 10 | round / 10)/s, p50 \(.latency_ms.p50 * 100 | round / 100) ms, p99 \(.latency_ms.p99 * 100 | round / 100) ms, max \(.latency_ms.max | round) ms, crypto ratio \(.crypto.measured_over_bound * 1000 | round / 1000)"' "$B/bench$i.json"
done
jq -rs '"total: \(map(.successes) | add) enrollments in \(map(.wall_time_s) | max * 1000 | round / 1000) s = \((map(.successes) | add) / (map(.wall_time_s) | max) * 10 | round / 10)/s"' "$B"/bench*.json
