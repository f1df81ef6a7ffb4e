#!/usr/bin/env bash
# Issue 17 figures (BENCHMARKS.md, "Issue 17: admin listings"): the SQL of
# the store's CertCatalog (crates/cmc-store/src/store/catalog.rs) timed by
# the sqlite3 shell on CERTS synthetic certificate rows (850-byte DER, random
# 16-byte serials, one in ten revoked), with the schema up to migration 9,
# then again after migration 10 (its indexes) is applied. The schema is read
# from crates/cmc-store/src/schema.rs. The database is removed at the end.
# Usage: scripts/bench-admin-sqlite.sh CERTS [WORK_PARENT]
# e.g.   scripts/bench-admin-sqlite.sh 1000000 /tmp
set -euo pipefail
CERTS=$1; PARENT=${2:-/tmp}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d "$PARENT/bench-admin.XXXXXX")
trap 'rm -rf "$W"' EXIT
python3 - "$ROOT/crates/cmc-store/src/schema.rs" "$W" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
sqlite = s[s.index("const SQLITE"):s.index("const POSTGRES")]
migrations = re.findall(r'version: (\d+),.*?sql: r"(.*?)",\n', sqlite, re.S)
open(sys.argv[2] + "/before.sql", "w").write(
    "\n".join(sql for v, sql in migrations if int(v) < 10))
open(sys.argv[2] + "/after.sql", "w").write(
    "\n".join(sql for v, sql in migrations if int(v) == 10))
PY
cat > "$W/load.sql" <<SQL
PRAGMA journal_mode=WAL;
INSERT INTO cas (name, cert_der, key_ref, parent, created_at) VALUES ('ca', x'00', '{}', NULL, 0);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $CERTS)
INSERT INTO certificates (issuer, serial, status, requester, profile, request_hash, reserved_at,
    cert_der, subject, not_before, not_after, issued_at, revoked_at, revocation_reason)
SELECT 'ca', randomblob(16), CASE WHEN i % 10 = 0 THEN 'revoked' ELSE 'issued' END,
    'bulk', 'default', x'00', 1700000000 + i, zeroblob(850), 'CN=bulk-' || i,
    1700000000 + i, 1700000000 + i + 93 * 86400, 1700000000 + i,
    CASE WHEN i % 10 = 0 THEN 1700000000 + i + 10 END, CASE WHEN i % 10 = 0 THEN 1 END
FROM n;
SQL
HALF=$((CERTS / 2))
COLS="c.serial, c.cert_der, c.issued_at, c.revocation_reason, c.revoked_at, c.invalidity_date"
WHERE="c.issuer = 'ca' AND c.status IN ('issued', 'revoked')"
cat > "$W/queries.sql" <<SQL
.timer on
.output stdout
.print caInfo counts
.output /dev/null
SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.status = 'issued' AND c.not_before <= 1700500000 AND c.not_after > 1700500000 THEN 1 ELSE 0 END), 0) FROM certificates c WHERE $WHERE;
.output stdout
.print listCerts issueDate descending, first page of 100
.output /dev/null
SELECT $COLS FROM certificates c WHERE $WHERE AND (NULL IS NULL OR (c.status = 'issued' AND c.not_before <= 0 AND c.not_after > 0)) ORDER BY c.issued_at DESC, c.id DESC LIMIT 100 OFFSET 0;
.output stdout
.print listCerts issueDate descending, notRevoked, first page of 100
.output /dev/null
SELECT $COLS FROM certificates c WHERE $WHERE AND (1700500000 IS NULL OR (c.status = 'issued' AND c.not_before <= 1700500000 AND c.not_after > 1700500000)) ORDER BY c.issued_at DESC, c.id DESC LIMIT 100 OFFSET 0;
.output stdout
.print listCerts issueDate, a page of 1000 in the middle
.output /dev/null
SELECT $COLS FROM certificates c WHERE $WHERE AND (NULL IS NULL OR (c.status = 'issued' AND c.not_before <= 0 AND c.not_after > 0)) ORDER BY c.issued_at ASC, c.id ASC LIMIT 1000 OFFSET $HALF;
.output stdout
.print listCerts serialNumber, first page of 1000
.output /dev/null
SELECT $COLS FROM certificates c WHERE $WHERE AND (NULL IS NULL OR (c.status = 'issued' AND c.not_before <= 0 AND c.not_after > 0)) ORDER BY length(c.serial) ASC, c.serial ASC LIMIT 1000 OFFSET 0;
.output stdout
.print allCertSerials (100001)
.output /dev/null
SELECT c.serial FROM certificates c WHERE $WHERE ORDER BY length(c.serial), c.serial LIMIT 100001;
SQL
cd "$W"
sqlite3 b.db < before.sql
echo "load $CERTS rows:"; time sqlite3 b.db < load.sql
echo "== schema 9 (second run, warm)"; sqlite3 b.db < queries.sql > /dev/null; sqlite3 b.db < queries.sql
echo "== migration 10:"; time sqlite3 b.db < after.sql
echo "== schema 10 (second run, warm)"; sqlite3 b.db < queries.sql > /dev/null; sqlite3 b.db < queries.sql
ls -l b.db
