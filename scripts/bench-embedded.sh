# Sourced by the bench scripts that measure one fresh embedded-default
# cmc-server (P-384 file-key root, bootstrap RA, SQLite) in a temporary
# directory. After `embedded_start BIN_DIR PORT [COMMAND PREFIX...]`:
# $B is the directory, $D its cmc-data, $PID the server (run under the
# prefix, e.g. valgrind, which must exec it). `embedded_bench N C` runs
# `cmc-tool bench` against it and prints its failures and rate lines;
# `embedded_stop` ends the server.
embedded_start() {
    local port=$2
    BIN=$1
    PORT=$port
    shift 2
    B=$(mktemp -d /tmp/bench-embedded.XXXXXX)
    D=$B/cmc-data
    printf '[server]\nlisten = "127.0.0.1:%s"\n' "$PORT" > "$B/cmc.toml"
    (cd "$B" && RUST_LOG=warn exec "$@" "$BIN/cmc-server" --config "$B/cmc.toml" > server.log 2>&1) &
    PID=$!
    for _ in $(seq 1 300); do
        [ -f "$D/bootstrap-ra.pem" ] && curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null && return
        sleep 0.5
    done
    echo "cmc-server did not start: $B/server.log" >&2
    return 1
}

embedded_bench() {
    "$BIN/cmc-tool" bench --url "http://127.0.0.1:$PORT/cmc/root" --ca-cert "$D/root.pem" \
        --signer-cert "$D/bootstrap-ra.pem" --signer-key "$D/bootstrap-ra.key" \
        --passphrase-file "$D/bootstrap-ra-passphrase" -n "$1" -c "$2" 2>&1 |
        grep -E "^(failures|enrollments/s)"
}

embedded_stop() {
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
}
