#!/usr/bin/env bash
# Make a throw-away SoftHSM2 token for the PKCS#11 tests and print the
# environment that points the tests at it:
#
#   eval "$(scripts/softhsm-env.sh /tmp/some-dir)"
#
# In DIR it writes softhsm2.conf (token directory DIR/tokens), initialises a
# token labelled "cmc-test" with a random SO PIN and user PIN, stores the user
# PIN in DIR/user-pin (mode 0600) and prints `export` lines for
# SOFTHSM2_CONF, CMC_TEST_PKCS11_MODULE, CMC_TEST_PKCS11_TOKEN and
# CMC_TEST_PKCS11_PIN_FILE. Only those lines go to stdout; progress goes to
# stderr. The PINs are never printed or passed to anything but softhsm2-util.
#
# Environment knobs:
#   CMC_SOFTHSM_LABEL   token label (default cmc-test)
#   CMC_SOFTHSM_MODULE  path of libsofthsm2.so (default: first one found)
set -euo pipefail

die() { printf 'softhsm-env.sh: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DIR"
command -v softhsm2-util >/dev/null 2>&1 || die "softhsm2-util not found (apt-get install -y softhsm2)"

dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
label=${CMC_SOFTHSM_LABEL:-cmc-test}

module=${CMC_SOFTHSM_MODULE:-}
if [ -z "$module" ]; then
    for candidate in \
        /usr/lib/softhsm/libsofthsm2.so \
        /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
        /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so \
        /usr/local/lib/softhsm/libsofthsm2.so \
        /usr/lib64/pkcs11/libsofthsm2.so; do
        if [ -e "$candidate" ]; then module=$candidate; break; fi
    done
fi
[ -n "$module" ] && [ -e "$module" ] || die "libsofthsm2.so not found; set CMC_SOFTHSM_MODULE"

[ -e "$dir/softhsm2.conf" ] && die "$dir/softhsm2.conf exists; use a fresh directory"
mkdir -p "$dir/tokens"
chmod 700 "$dir/tokens"
cat > "$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF

random_pin() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }
so_pin=$(random_pin)
user_pin=$(random_pin)

pin_file=$dir/user-pin
(umask 077 && printf '%s\n' "$user_pin" > "$pin_file")
chmod 600 "$pin_file"

SOFTHSM2_CONF=$dir/softhsm2.conf softhsm2-util --init-token --free --label "$label" \
    --so-pin "$so_pin" --pin "$user_pin" >&2

printf 'export SOFTHSM2_CONF=%q\n' "$dir/softhsm2.conf"
printf 'export CMC_TEST_PKCS11_MODULE=%q\n' "$module"
printf 'export CMC_TEST_PKCS11_TOKEN=%q\n' "$label"
printf 'export CMC_TEST_PKCS11_PIN_FILE=%q\n' "$pin_file"
