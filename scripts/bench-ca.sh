#!/usr/bin/env bash
# One `cmc-tool bench` run against a fresh cmc-server whose CA "root" has a
# key of type KEY (p256, p384, ...), in a file (the default) or on a PKCS #11
# token, with an RA credential of the same type as the signer, on SQLite in a
# temporary directory that is removed afterwards. Prints the bench's summary
# lines and the server's CPU time over the run.
#
# Usage: scripts/bench-ca.sh BIN_DIR PORT KEY [BENCH ARGS...]
#   e.g. scripts/bench-ca.sh target/release 18090 p256 -n 4000 -c 8
# With CMC_TEST_PKCS11_MODULE, CMC_TEST_PKCS11_TOKEN and
# CMC_TEST_PKCS11_PIN_FILE set (eval "$(scripts/softhsm-env.sh DIR)"), and
# BENCH_PKCS11=1, the CA key is generated on that token.
set -euo pipefail
R=$(cd "$1" && pwd); PORT=$2; KEY=$3; shift 3
[ $# -gt 0 ] || set -- -n 2000 -c 8
B=$(mktemp -d /tmp/bench-ca.XXXXXX)
trap 'kill -TERM $PID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$B"' EXIT
PID=
cd "$B"
head -c 24 /dev/urandom | base64 > pass && chmod 600 pass
printf 'data_dir = "%s/data"\n[server]\nlisten = "127.0.0.1:%s"\n' "$B" "$PORT" > cmc.toml
tool() { "$R/cmc-tool" --config "$B/cmc.toml" "$@" >/dev/null; }
if [ "${BENCH_PKCS11:-}" = 1 ]; then
    tool ca init root --subject "CN=bench $KEY token root" --key-type "$KEY" \
        --pkcs11-module "$CMC_TEST_PKCS11_MODULE" --token "$CMC_TEST_PKCS11_TOKEN" \
        --key-label "bench-$KEY-$$-$RANDOM" --pin-file "$CMC_TEST_PKCS11_PIN_FILE"
else
    tool ca init root --subject "CN=bench $KEY root" --key-type "$KEY" --passphrase-file "$B/pass"
fi
tool client add bench-ra --role ra --ca root --issue --subject CN=bench-ra \
    --out-dir "$B/ra" --passphrase-file "$B/pass"
tool ca export root -o "$B/root.pem"
RUST_LOG=warn "$R/cmc-server" --config "$B/cmc.toml" > server.log 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
C0=$(cpu)
"$R/cmc-tool" bench --url "http://127.0.0.1:$PORT/cmc/root" --ca-cert "$B/root.pem" \
    --signer-cert "$B/ra/bench-ra.pem" --signer-key "$B/ra/bench-ra.key" \
    --passphrase-file "$B/pass" "$@" 2>&1 \
    | grep -Ei 'concurrency|mode|failures|enrollments/s|latency |send after|per enrollment|cores busy|error|measured /|crypto|sign |verify ' || true
C1=$(cpu)
echo "server CPU during the run: $(awk -v t="$(getconf CLK_TCK)" -v d=$((C1 - C0)) 'BEGIN { printf "%.2f", d / t }') s"
