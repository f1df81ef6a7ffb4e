#!/usr/bin/env bash
# Context switches of cmc-server per enrollment: a fresh embedded default,
# 300 enrollments to warm up, then N at c=8, the voluntary and involuntary
# switches of all its threads counted from /proc/PID/task/*/status before
# and after. Counts, not times: they hold while other work shares the
# machine (the rate it prints does not).
# Usage: scripts/bench-switches.sh BIN_DIR PORT N
#   e.g. scripts/bench-switches.sh target/release 18175 3000
set -euo pipefail
. "$(dirname "$0")/bench-embedded.sh"
embedded_start "$1" "$2"
N=$3
switches() {
    cat /proc/"$PID"/task/*/status | awk '/^voluntary/ { v += $2 } /^nonvoluntary/ { n += $2 } END { print v, n }'
}
embedded_bench 300 8 > /dev/null
read -r v0 n0 < <(switches)
embedded_bench "$N" 8
read -r v1 n1 < <(switches)
awk -v v=$((v1 - v0)) -v i=$((n1 - n0)) -v n="$N" \
    'BEGIN { printf "context switches per enrollment: voluntary %.2f, involuntary %.2f\n", v / n, i / n }'
embedded_stop
rm -rf "$B"
