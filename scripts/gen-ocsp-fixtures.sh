#!/usr/bin/env bash
# Remakes the OCSP request fixtures in testdata/ocsp/ with OpenSSL: a P-256
# issuer, two leaves it signed, and requests as `openssl ocsp -reqout` writes
# them. The keys are thrown away. Usage: scripts/gen-ocsp-fixtures.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=testdata/ocsp
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$OUT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
    -subj "/CN=OCSP fixture issuer/O=cmc-asn1 tests" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out "$OUT/issuer.pem" 2>/dev/null
for n in 1 2; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/leaf$n.key" \
        -subj "/CN=OCSP fixture leaf $n" -out "$T/leaf$n.csr" 2>/dev/null
    openssl x509 -req -in "$T/leaf$n.csr" -CA "$OUT/issuer.pem" -CAkey "$T/ca.key" \
        -set_serial "0x0${n}23456789abcdef0" -days 3650 -out "$T/leaf$n.pem" 2>/dev/null
done
# OpenSSL's defaults: SHA-1 CertID and a 16-octet nonce.
openssl ocsp -issuer "$OUT/issuer.pem" -cert "$T/leaf1.pem" -reqout "$OUT/openssl_sha1_nonce.der"
# SHA-256 CertIDs for two certificates, no nonce.
openssl ocsp -sha256 -issuer "$OUT/issuer.pem" -cert "$T/leaf1.pem" -cert "$T/leaf2.pem" \
    -no_nonce -reqout "$OUT/openssl_sha256_two.der"
sha256sum "$OUT"/*
