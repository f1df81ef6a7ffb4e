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
find "$ROOT/testdata" -type f \( -name '*.der' -o -name '*.bin' \) -exec cp -t "$SEEDS" {} +
cargo run --quiet --locked -p cmc-asn1 --example emit_samples -- "$SEEDS" >/dev/null

"${FUZZ[@]}" build --release 2>&1 | tail -n 3
for target in $("${FUZZ[@]}" list); do
    dir=$CORPORA/$target
    mkdir -p "$dir"
    cp -t "$dir" "$SEEDS"/*
    echo "fuzz: $target for ${SECONDS_PER_TARGET}s ($(ls "$dir" | wc -l) seeds)"
    log=$CORPORA/$target.log
    rc=0
    "${FUZZ[@]}" run --release "$target" "$dir" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len=65536 >"$log" 2>&1 || rc=$?
    grep -E '^(Done|#[0-9]+ +DONE|SUMMARY|==[0-9]+==ERROR|thread .* panicked)' "$log" || true
    if [ "$rc" != 0 ]; then
        tail -n 40 "$log" >&2
        echo "fuzz: $target FAILED (artifacts under fuzz/artifacts/$target)" >&2
        exit 1
    fi
done
echo "fuzz: all targets ran clean"
