#!/usr/bin/env bash
# Remakes the EST fixtures in testdata/est/ with OpenSSL: a P-256 CA, a leaf it
# signed, and certification requests as EST clients send them (one linked to a
# TLS connection through challengePassword, RFC 7030 §3.5). The keys are thrown
# away. Usage: scripts/est-fixtures.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=testdata/est
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$OUT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
    -subj "/CN=EST fixture CA/O=proto-est tests" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out "$OUT/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/leaf.key" \
    -subj "/CN=device-1.example" -out "$T/leaf.csr" 2>/dev/null
openssl x509 -req -in "$T/leaf.csr" -CA "$OUT/ca.pem" -CAkey "$T/ca.key" \
    -set_serial 0x0123456789abcdef01 -days 3650 -out "$OUT/leaf.pem" 2>/dev/null
# The tls-unique value of a pretend TLS 1.2 connection is 00 01 02 .. 0b; EST puts
# its base64 in challengePassword (RFC 7030 §3.5).
cat > "$T/req.cnf" <<'CNF'
[req]
distinguished_name = dn
attributes = attrs
prompt = no
[dn]
CN = device-1.example
[attrs]
challengePassword = AAECAwQFBgcICQoL
CNF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$T/p384.key" \
    -config "$T/req.cnf" -addext subjectAltName=DNS:device-1.example -sha384 \
    -out "$OUT/csr_p384_tls_unique.pem" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/rsa.key" -subj "/CN=rsa.example" \
    -out "$OUT/csr_rsa2048.pem" 2>/dev/null
sha256sum "$OUT"/*.pem
