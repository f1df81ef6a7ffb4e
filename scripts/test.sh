#!/usr/bin/env bash
# The one test command (README "Quick start"): on a fresh Debian machine it
# installs what the suite needs, starts a PostgreSQL server on loopback and a
# SoftHSM2 token in a temporary directory, then runs every check CI runs:
#   cargo fmt --check, clippy -D warnings, the whole test suite (on the
#   default aws-lc-rs backend, then again in the `pure-rust` build), rustdoc
#   without warnings, cargo deny (bans, licences, sources), the independent
#   ASN.1 cross-check (pyasn1-modules) and a short smoke run of every fuzz target.
#
# Environment knobs:
#   CMC_FUZZ_SECONDS   seconds per fuzz target (default 20; 0 skips fuzzing)
#   CMC_SKIP_INSTALL=1 never install anything (fail if something is missing)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
FUZZ_SECONDS=${CMC_FUZZ_SECONDS:-20}
START=$(date +%s)
# A clean build gains nothing from incremental compilation, and its cache
# takes gigabytes beside the two builds of the workspace (aws-lc-rs and pure-rust).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

# Free space where the build goes, in every step's header: a full disk
# kills the linker with SIGBUS mid-build (both builds and their tests take
# about 9 GB).
free_disk() { df -h --output=avail "$ROOT" 2>/dev/null | tail -1 | tr -d ' '; }
step() { printf '\n==> [%4ss, %s free] %s\n' "$(($(date +%s) - START))" "$(free_disk)" "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# --- 1. System packages ------------------------------------------------------
step "system packages"
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl) # the EST tests' HTTPS client
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# The operator console's browser test (bins/cmc-server/tests/console.rs):
# Playwright drives this Chromium, launched by path.
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
    [ "${CMC_SKIP_INSTALL:-0}" = 1 ] && die "missing packages: ${missing[*]}"
    is_root || die "missing packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "openssl: $(openssl version)"

# --- 2. Python tools for independent checks -----------------------------------
step "python tools (pyasn1-modules, pkilint, playwright, acme2certifier's EST and CMP handlers)"
PY=${PYTHON:-python3}
pip_missing=()
"$PY" -c 'import pyasn1_modules.rfc6402' 2>/dev/null || pip_missing+=(pyasn1-modules)
"$PY" -c 'import pkilint' 2>/dev/null || pip_missing+=(pkilint)
# Playwright's Python API only: it drives the Debian chromium above (its own
# browser download is never used). scripts/console_browser.py.
"$PY" -c 'import playwright.sync_api' 2>/dev/null || pip_missing+=(playwright)
if ((${#pip_missing[@]})); then
    [ "${CMC_SKIP_INSTALL:-0}" = 1 ] && die "missing python packages: ${pip_missing[*]}"
    "$PY" -m pip install -q "${pip_missing[@]}"
fi
# acme2certifier's EST and CMP CA handlers: the EST and CMP clients nobody
# here wrote, driven by scripts/est_peer.py and scripts/cmp_peer.py in
# bins/cmc-server/tests/est.rs and cmp.rs (which fail under CI without them). Installed without its declared dependencies (acme, josepy,
# pyOpenSSL, werkzeug, xmltodict serve its ACME server, not the handler), with
# the packages the handler module imports when it loads; pip's note that those
# declared dependencies are missing is expected.
EST_PEER_VERSION=0.46.3
est_peer_imports() {
    "$PY" -c "import importlib.metadata as m, acme2certifier.cahandlers.est_ca_handler
import acme2certifier.cahandlers.cmp_ca_handler
assert m.version('acme2certifier') == '$EST_PEER_VERSION'" 2>/dev/null
}
if ! est_peer_imports; then
    [ "${CMC_SKIP_INSTALL:-0}" = 1 ] && die "missing python package: acme2certifier==$EST_PEER_VERSION"
    "$PY" -m pip install -q requests requests_pkcs12 cryptography python-dateutil \
        pyasn1 pyasn1_modules jwcrypto pysocks dnspython pyyaml
    "$PY" -m pip install -q --no-deps "acme2certifier==$EST_PEER_VERSION"
    est_peer_imports || die "acme2certifier's EST or CMP handler does not import after pip install"
fi

# --- 3. Cargo tools -----------------------------------------------------------
step "cargo tools (cargo-deny, cargo-fuzz)"
for tool in cargo-deny cargo-fuzz; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        [ "${CMC_SKIP_INSTALL:-0}" = 1 ] && die "missing $tool"
        cargo install --locked "$tool"
    fi
done

WORK=$(mktemp -d /tmp/cmc-test.XXXXXX)
chmod 755 "$WORK"
PG_CTL=""
PGDATA=""
cleanup() {
    if [ -n "$PG_CTL" ] && [ -n "$PGDATA" ]; then
        if is_root; then
            runuser -u postgres -- "$PG_CTL" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
        else
            "$PG_CTL" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
        fi
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# --- 4. PostgreSQL on loopback ------------------------------------------------
step "PostgreSQL on 127.0.0.1"
PGBIN=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1)")
PG_CTL=$PGBIN/pg_ctl
PGDATA=$WORK/pg
PGPORT=$(free_port)
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$PGDATA"
is_root && chown postgres "$PGDATA"
as_pg "$PGBIN/initdb" -D "$PGDATA" -U cmc -A trust --no-sync >/dev/null
as_pg "$PG_CTL" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA -c fsync=off" start >/dev/null
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U cmc -d postgres -qc 'CREATE DATABASE cmc_test' >/dev/null
export CMC_TEST_PG_URL="postgresql://cmc@127.0.0.1:$PGPORT/cmc_test"
echo "CMC_TEST_PG_URL=$CMC_TEST_PG_URL"

# --- 5. SoftHSM2 token in a temporary directory -------------------------------
step "SoftHSM2 token"
eval "$("$ROOT/scripts/softhsm-env.sh" "$WORK/softhsm")"
echo "SOFTHSM2_CONF=$SOFTHSM2_CONF token=$CMC_TEST_PKCS11_TOKEN"

# --- 6. Rust checks and the test suite ----------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (whole workspace)"
cargo test --workspace --locked

# Issue 15: the same suite on the RustCrypto backend, with no AWS-LC in the
# tree (TLS stays on ring there: README "Cryptography backends"). Same target
# directory: only what the features change is rebuilt (our crates, rustls,
# ring), not the rest of the dependency tree.
step "cargo test, pure-rust build (no AWS-LC)"
PURE=(--workspace --locked --no-default-features --features pure-rust)
cargo tree --workspace --locked -i aws-lc-sys | grep -q . ||
    die "the default build has no aws-lc-sys: the check below would prove nothing"
if cargo tree "${PURE[@]}" -i aws-lc-sys 2>/dev/null | grep -q .; then
    die "the pure-rust build still depends on aws-lc-sys"
fi
cargo test "${PURE[@]}"

step "cargo doc (no warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "cargo deny check bans licenses sources"
cargo deny --log-level error check bans licenses sources

# --- 7. Independent ASN.1 cross-check -----------------------------------------
step "pyasn1-modules decodes our PKIData and PKIResponse encodings"
cargo run --quiet --locked -p cmc-asn1 --example emit_samples -- "$WORK/samples"
"$PY" "$ROOT/scripts/pyasn1_check.py" "$WORK/samples"

# --- 8. Fuzz smoke ------------------------------------------------------------
if [ "$FUZZ_SECONDS" != 0 ]; then
    step "fuzz smoke (${FUZZ_SECONDS}s per target)"
    "$ROOT/scripts/fuzz-smoke.sh" "$FUZZ_SECONDS"
fi

step "all checks passed"
