#!/usr/bin/env bash
# Build every cargo-fuzz target and run each for a short smoke period, seeded
# from testdata/. Works on stable through RUSTC_BOOTSTRAP (cargo fuzz needs
# nightly flags for the sanitizer); uses nightly when it is installed.
# Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-20}

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    FUZZ=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    FUZZ=(cargo fuzz)
fi

CORPORA=$(mktemp -d /tmp/cmc-fuzz.XXXXXX)
trap 'rm -rf "$CORPORA"' EXIT

# Seeds: every DER fixture in testdata/ plus our own sample encodings of
# PKIData and PKIResponse (the peer files are whole ContentInfos).
SEEDS=$CORPORA/seeds
mkdir -p "$SEEDS"
find "$ROOT/testdata" "$ROOT/crates/proto-cmp/testdata" -type f \( -name '*.der' -o -name '*.bin' \) -exec cp -t "$SEEDS" {} +
cargo run --quiet --locked -p cmc-asn1 --example emit_samples -- "$SEEDS" >/dev/null

# engine_cmc also reads structured inputs (first byte 0x80 and above): the
# requests of SEEDS in fuzz/fuzz_targets/engine_cmc.rs, signed when run.
ENGINE_SEEDS=(
    '\x80\x00\x01\x00\x00\x00\x01\x03\x01\x00\x00\x01'
    '\x80\x02\x01\x00\x00\x00\x01\x03\x01\x00\x00\x00'
    '\x80\x03\x05\x00\x00\x04\x01\x02\x03\x04\x00\x00\x01\x03\x01\x01\x00\x00'
    '\x80\x03\x05\x00\x01\x04\x01\x02\x03\x04\x00\x00\x01\x03\x01\x00\x00\x01'
    '\x80\x04\x01\x00\x00\x00\x01\x03\x01\x00\x00\x00'
    '\x80\x01\x01\x00\x00\x00\x01\x04\x01\x04\x01\x02\x00\x00'
    '\x80\x01\x01\x00\x00\x00\x02\x05\x01\x02\x02\x06\x01\x03\x01'
    '\x80\x00\x01\x00\x00\x00\x02\x64\x01\x0b\x00\x00\x01\x03\x01\x00\x00\x00\x07\x01\x08\x01\x64'
    '\x80\x05\x01\x00\x00\x00\x01\x04\x01\x04\x01\x01\x01\x04\x61\x62\x63\x64\x00'
    '\x80\x00\x01\x00\x00\x00\x01\x03\x01\x00\x03\x00'
)

# cmp_door likewise (first byte 0x80 and above): the messages of SEEDS in
# fuzz/fuzz_targets/cmp_door.rs, protected when run.
CMP_DOOR_SEEDS=(
    '\x80\x00\x00\x08\x00\x00\x07\x01\x01\x01\x02\x00\x00\x00\x00\x01\x00\x01'
    '\x80\x06\x00\x08\x02\x09\x09\x00\x07\x00\x00\x00\x00\x00\x03\x01\x00\x01'
    '\x80\x06\x02\x08\x02\x09\x09\x00\x07\x00\x00\x01\x01\x00\x03\x00\x00\x00'
    '\x80\x06\x01\x08\x02\x09\x09\x01\x07\x00\x00\x02\x00\x00\x00\x00\x00\x01'
    '\x80\x01\x00\x08\x00\x00\x07\x00\x00\x03\x03\x02\x00\x00'
    '\x80\x01\x00\x08\x00\x00\x07\x00\x00\x00\x05\x02\x00\x00\x03\x01\x00'
    '\x80\x00\x00\x08\x00\x00\x07\x00\x00\x00\x06\x00\x01\x00\x00'
    '\x80\x0a\x00\x00\x00\x00\x07\x00\x00\x00\x0a\x00\x02\x30\x00'
    '\x80\x07\x00\x08\x00\x00\x07\x00\x00\x00\x00\x00\x00\x01\x00\x00'
    '\x80\x05\x00\x08\x00\x00\x07\x00\x00\x00\x00\x00\x00\x01\x00\x00'
    '\x80\x0a\x00\x08\x00\x00\x07\x00\x00\x00\x01\x00\x00\x00\x00\x00'
    '\x80\x03\x00\x08\x00\x00\x07\x00\x00\x00\x01\x00\x00\x00\x00\x00'
    '\x80\x01\x00\x08\x00\x00\x07\x00\x00\x00\x02\x00\x02\x00\x00\x00'
    '\x80\x06\x00\x08\x00\x00\x07\x00\x00\x00\x07\x01\x00'
    '\x80\x00\x00\x08\x00\x00\x07\x00\x00\x00\x00\x00\x00\x05\x00\x01'
    '\x80\x01\x00\x08\x00\x00\x07\x00\x00\x01\x03\x00\x02\x00'
    '\x80\x06\x00\x08\x02\x09\x09\x00\x07\x00\x00\x02\x01\x00\x00\x08\x00\x01'
)

"${FUZZ[@]}" build --release 2>&1 | tail -n 3
for target in $("${FUZZ[@]}" list); do
    dir=$CORPORA/$target
    mkdir -p "$dir"
    cp -t "$dir" "$SEEDS"/*
    if [ "$target" = est_input ]; then
        # A selector byte, then the input: 0 a path, 1 an Authorization
        # value, 2 a base64 CSR body (the EST fixtures), 3 a fullcmc body.
        for pem in "$ROOT"/testdata/est/*.pem; do
            { printf '\x02'; grep -v -- ----- "$pem"; } >"$dir/est-$(basename "$pem")"
        done
        printf '\x00/.well-known/est/ca/simpleenroll' >"$dir/est-path"
        printf '\x01Basic ZGV2aWNlLTE6czNjcmV0' >"$dir/est-basic"
    fi
    if [ "$target" = engine_cmc ]; then
        for i in "${!ENGINE_SEEDS[@]}"; do
            printf '%b' "${ENGINE_SEEDS[$i]}" >"$dir/structured-$i"
        done
    fi
    if [ "$target" = envelope_open ]; then
        # 0x80, then which envelope made at setup (0 RSA, 1 ECDH), untouched.
        printf '\x80\x00' >"$dir/structured-rsa"
        printf '\x80\x01' >"$dir/structured-ecdh"
    fi
    if [ "$target" = cmp_door ]; then
        for i in "${!CMP_DOOR_SEEDS[@]}"; do
            printf '%b' "${CMP_DOOR_SEEDS[$i]}" >"$dir/structured-$i"
        done
    fi
    echo "fuzz: $target for ${SECONDS_PER_TARGET}s ($(ls "$dir" | wc -l) seeds)"
    log=$CORPORA/$target.log
    rc=0
    # engine_cmc and cmp_door keep their SQLite store in a temporary
    # directory that the fuzzer cannot remove when it exits: keep it under
    # $CORPORA.
    mkdir -p "$CORPORA/tmp"
    TMPDIR="$CORPORA/tmp" "${FUZZ[@]}" run --release "$target" "$dir" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len=65536 >"$log" 2>&1 || rc=$?
    grep -E '^(Done|#[0-9]+ +DONE|SUMMARY|==[0-9]+==ERROR|thread .* panicked)' "$log" || true
    if [ "$rc" != 0 ]; then
        tail -n 40 "$log" >&2
        echo "fuzz: $target FAILED (artifacts under fuzz/artifacts/$target)" >&2
        exit 1
    fi
done
echo "fuzz: all targets ran clean"
