#!/usr/bin/env bash
# Compares two builds of cmc-server (each a directory holding cmc-server and
# cmc-tool) with scripts/bench-server.sh, runs interleaved (A B A B ...) so
# that a machine getting slower or faster affects both alike. Prints every
# run, then per build the mean and sample standard deviation of the rate and
# of the server's CPU time per enrollment, and B's mean relative to A's.
# One pair decides nothing on a 2-core machine shared with the load
# generator (BENCHMARKS.md has pairs going either way): use RUNS >= 3.
#
# Usage: scripts/bench-compare.sh A_DIR B_DIR RUNS PORT [BENCH ARGS...]
#   e.g. scripts/bench-compare.sh /tmp/before /tmp/after 4 18180 -n 8000 -c 8
# BENCH ARGS default to `-n 6000 -c 8`; --json is not accepted.
set -euo pipefail
A=$1; B=$2; RUNS=$3; PORT=$4; shift 4
[ $# -gt 0 ] || set -- -n 6000 -c 8
case " $* " in *" --json "*) echo "bench-compare: --json is not accepted" >&2; exit 2 ;; esac
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench-compare: RUNS must be a positive number" >&2; exit 2; }
for d in "$A" "$B"; do
    for b in cmc-server cmc-tool; do
        [ -x "$d/$b" ] || { echo "bench-compare: $d/$b is missing" >&2; exit 2; }
    done
done
HERE=$(cd "$(dirname "$0")" && pwd)
# The number of enrollments asked for (-n), to turn CPU seconds into ms per
# enrollment.
N=6000
prev=
for a in "$@"; do
    [ "$prev" = "-n" ] && N=$a
    prev=$a
done
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT
for i in $(seq 1 "$RUNS"); do
    for which in A B; do
        dir=$A; [ $which = B ] && dir=$B
        out=$("$HERE/bench-server.sh" "$dir" "$dir" "$PORT" "$@")
        rate=$(awk '/^enrollments\/s:/ { print $2 }' <<< "$out")
        failures=$(awk '/^failures:/ { print $2 }' <<< "$out")
        p99=$(awk '/^latency p99:/ { print $3 }' <<< "$out")
        cpu=$(awk '/^server CPU during the run:/ { print $6 }' <<< "$out")
        # "this host over the timed phase: cores busy: ... idle N %"
        idle=$(sed -n 's/.*cores busy:.* idle \([0-9]*\) %.*/, cores idle \1 %/p' <<< "$out")
        if [ -z "$rate" ] || [ -z "$cpu" ] || [ "$failures" != 0 ]; then
            echo "run $i $which: no figures or failures:" >&2
            echo "$out" >&2
            exit 1
        fi
        ms=$(awk -v c="$cpu" -v n="$N" 'BEGIN { printf "%.3f", c * 1000 / n }')
        echo "run $i $which: $rate enrollments/s, p99 $p99 ms, server CPU $ms ms per enrollment$idle"
        echo "$which $rate $ms" >> "$RESULTS"
    done
done
awk '
    { n[$1]++; r[$1] += $2; rr[$1] += $2 * $2; c[$1] += $3; cc[$1] += $3 * $3 }
    function sd(s, ss, k) { return k > 1 ? sqrt((ss - s * s / k) / (k - 1)) : 0 }
    END {
        for (w = 1; w <= 2; w++) {
            b = w == 1 ? "A" : "B"
            printf "%s: %.1f ± %.1f enrollments/s, server CPU %.3f ± %.3f ms per enrollment (%d runs)\n",
                b, r[b] / n[b], sd(r[b], rr[b], n[b]), c[b] / n[b], sd(c[b], cc[b], n[b]), n[b]
        }
        printf "B/A: rate %+.1f %%, server CPU per enrollment %+.1f %%\n",
            100 * ((r["B"] / n["B"]) / (r["A"] / n["A"]) - 1),
            100 * ((c["B"] / n["B"]) / (c["A"] / n["A"]) - 1)
    }' "$RESULTS"
