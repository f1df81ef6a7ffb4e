#!/bin/sh
# Regenerates the CMP fixtures of this directory with `openssl cmp` (made with OpenSSL
# 3.0.19). Requests are captured with -reqout while -server points at a closed port
# (openssl writes the request before connecting); certConf and the responses come from a run
# against openssl's own mock server (-port). Keys live in a temporary directory; only the
# certificates needed by the tests are kept.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'kill $srv >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
srv=
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout "$tmp/ee.key" -out ee.crt -subj /CN=cmp-client -days 3650 2>/dev/null
openssl req -x509 $ec -keyout "$tmp/ca.key" -out ca.crt -subj /CN=tst_sub_ca -days 3650 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/new.key"
openssl req -new -key "$tmp/new.key" -subj /CN=test-cert -out "$tmp/new.csr"
openssl x509 -req -in "$tmp/new.csr" -CA ca.crt -CAkey "$tmp/ca.key" -days 365 -out "$tmp/leaf.crt" 2>/dev/null

mac="-ref 1234 -secret pass:s3cret"
sig="-cert ee.crt -key $tmp/ee.key"
common="-server 127.0.0.1:9 -path pkix/ -recipient /CN=tst_sub_ca -certout $tmp/out.pem"
for prot in mac sig; do
    eval p=\$$prot
    openssl cmp -cmd ir $common $p -newkey "$tmp/new.key" -subject /CN=test-cert -reqout ir-$prot.der >/dev/null 2>&1 || true
    openssl cmp -cmd cr $common $p -newkey "$tmp/new.key" -subject /CN=test-cert -reqout cr-$prot.der >/dev/null 2>&1 || true
    openssl cmp -cmd kur $common $p -oldcert ee.crt -newkey "$tmp/new.key" -reqout kur-$prot.der >/dev/null 2>&1 || true
    openssl cmp -cmd p10cr $common $p -csr "$tmp/new.csr" -reqout p10cr-$prot.der >/dev/null 2>&1 || true
    openssl cmp -cmd rr $common $p -oldcert ee.crt -reqout rr-$prot.der >/dev/null 2>&1 || true
    openssl cmp -cmd genm $common $p -reqout genm-$prot.der >/dev/null 2>&1 || true
done
openssl cmp -cmd genm $common $mac -infotype caCerts -reqout genm-cacerts-mac.der >/dev/null 2>&1 || true

port=18790
openssl cmp -port $port -srv_ref 1234 -srv_secret pass:s3cret -srv_cert ca.crt \
    -srv_key "$tmp/ca.key" -rsp_cert "$tmp/leaf.crt" -rsp_capubs ca.crt -max_msgs 2 \
    >/dev/null 2>&1 &
srv=$!
sleep 1
openssl cmp -cmd ir -server 127.0.0.1:$port $mac -recipient /CN=tst_sub_ca \
    -newkey "$tmp/new.key" -subject /CN=test-cert -certout "$tmp/out.pem" \
    -reqout "$tmp/ir.der,certconf-mac.der" -rspout ip-mac.der,pkiconf-mac.der >/dev/null 2>&1
