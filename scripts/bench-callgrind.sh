#!/usr/bin/env bash
# Instructions the server executes per enrollment, counted by valgrind's
# callgrind: repeatable for the same binary whatever else the machine is
# doing (unlike a rate), so it shows changes too small for `cmc-tool bench`
# to see. A fresh embedded default runs under callgrind; 50 enrollments
# warm it up, the counters are zeroed, N more are counted (c=4), and the
# profile is kept for `callgrind_annotate`.
# Usage: scripts/bench-callgrind.sh BIN_DIR PORT N
#   e.g. scripts/bench-callgrind.sh target/release 18177 1000
# Under valgrind AWS-LC sees no ADX/BMI2 and hashes without SHA-NI, so the
# signature and hash shares are larger than on the real CPU: compare builds
# with this, and read shares from `perf`.
set -euo pipefail
. "$(dirname "$0")/bench-embedded.sh"
OUT=$(mktemp -d /tmp/bench-callgrind.XXXXXX)
embedded_start "$1" "$2" valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out"
N=$3
embedded_bench 50 4
callgrind_control -z "$PID" > /dev/null 2>&1
embedded_bench "$N" 4
callgrind_control -d "$PID" > /dev/null 2>&1
sleep 2
embedded_stop
rm -rf "$B"
callgrind_annotate "$OUT/callgrind.out.1" 2>/dev/null |
    awk -v n="$N" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "instructions per enrollment: %.0f\n", $1 / n }'
echo "profile: $OUT/callgrind.out.1 (callgrind_annotate --inclusive=yes)"
