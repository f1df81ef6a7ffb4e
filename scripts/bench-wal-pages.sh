#!/usr/bin/env bash
# Which B-trees an enrollment's commits write (BENCHMARKS.md, "Issue 15:
# fewer pages per enrollment"): one `cmc-tool bench` run against a fresh
# embedded-default cmc-server, then the WAL's frames since its last restart
# are counted per commit and mapped to their table or index (SQLite's
# dbstat on a copy of the database). Needs python3 and the sqlite3 shell.
# Usage: scripts/bench-wal-pages.sh BIN_DIR PORT [BENCH ARGS...]
# e.g.   scripts/bench-wal-pages.sh target/release 18181 -n 6000 -c 8
set -euo pipefail
R=$(cd "$1" && pwd); PORT=$2; shift 2
[ $# -gt 0 ] || set -- -n 6000 -c 8
B=$(mktemp -d /tmp/bench-wal.XXXXXX)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    cd /
    rm -rf "$B"
}
trap cleanup EXIT
cd "$B"
D=$B/cmc-data
printf '[server]\nlisten = "127.0.0.1:%s"\n' "$PORT" > cmc.toml
RUST_LOG=warn "$R/cmc-server" --config "$B/cmc.toml" > server.log 2>&1 &
PID=$!
for _ in $(seq 1 50); do [ -f "$D/bootstrap-ra.pem" ] && curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
"$R/cmc-tool" bench --url "http://127.0.0.1:$PORT/cmc/root" --ca-cert "$D/root.pem" \
    --signer-cert "$D/bootstrap-ra.pem" --signer-key "$D/bootstrap-ra.key" \
    --passphrase-file "$D/bootstrap-ra-passphrase" "$@" 2>&1 | grep -Ei 'enrollments/s|per enrollment' || true
# Copied while the server runs: its shutdown would checkpoint the WAL away.
mkdir copy
cp "$D/cmc.db" "$D/cmc.db-wal" copy/
# The WAL is read before sqlite3 opens the copy (which checkpoints it).
cp copy/cmc.db-wal wal
sqlite3 copy/cmc.db "SELECT pageno, name FROM dbstat" > pages.txt
python3 - wal pages.txt <<'PY'
import collections, struct, sys
wal = open(sys.argv[1], 'rb').read()
page_size = struct.unpack('>I', wal[8:12])[0]
salt = wal[16:24]
names = {}
for line in open(sys.argv[2]):
    page, name = line.rstrip('\n').split('|', 1)
    names[int(page)] = name
commits, current, off = [], [], 32
while off + 24 + page_size <= len(wal):
    page, commit = struct.unpack('>II', wal[off:off + 8])
    if wal[off + 8:off + 16] != salt:
        break
    current.append(page)
    if commit:
        commits.append(current)
        current = []
    off += 24 + page_size
if not commits:
    sys.exit('no commit in the WAL (it was just restarted): run more enrollments')
per = collections.Counter(names.get(p, '?') for c in commits for p in c)
frames = sum(per.values())
print(f'{len(commits)} commits in the WAL, {frames / len(commits):.1f} pages of {page_size} bytes per commit')
for name, n in per.most_common():
    print(f'{n / len(commits):7.2f}  {name}')
PY
