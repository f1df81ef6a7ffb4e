#!/usr/bin/env python3
"""Enroll one certificate through a CMP server with acme2certifier's CMP CA handler.

The handler is a CMP client nobody here wrote (PyPI `acme2certifier`, module
`acme2certifier.cahandlers.cmp_ca_handler`, class `CAhandler`): it writes the CSR to a
temporary file and runs `openssl cmp` with options taken from its `[CAhandler]`
configuration (`cmp_server`, `cmp_path`, `cmp_recipient`, `cmp_trusted`, ... each becoming
`-server`, `-path`, ...; `-cmd ir -popo 0` by default), adding `-ref REF -secret SECRET`
for MAC protection. This driver does what acme2certifier does when an ACME order is
finalised: it writes that configuration as the handler's documentation shows it, enters
the handler and calls `CAhandler.enroll(csr)` with the CSR as base64url DER. Nothing of
the handler is patched or re-implemented here.

Usage (the secret in an environment variable, in OpenSSL's pass-phrase form, read by the
handler itself through its cmp_secret_variable option):

    CMP_SECRET=pass:s3cret python3 scripts/cmp_peer.py --server 127.0.0.1:8080 \\
        --path pkix/ --ref 1234 --recipient /CN=root --trusted root.pem \\
        --csr req.pem --out cert.pem --bundle-out chain.pem

Packages: as for scripts/est_peer.py (acme2certifier 0.46.3 installed with --no-deps and
its import-time packages), whose helpers this script imports.

Outputs: --out gets the issued certificate (PEM) from the handler's `cert_raw`, which must
hold exactly one certificate; --bundle-out gets `cert_bundle` (the issued certificate and
the answer's extraCerts, PEM), which acme2certifier hands to the ACME client.

Exit status: 0 on success; 1 if the handler reports an error (printed on stderr) or its
result is not one certificate; 2 for bad arguments or a handler that cannot be imported.
"""

import argparse
import os
import shutil
import sys

from est_peer import run_handler

HANDLER_MODULE = "acme2certifier.cahandlers.cmp_ca_handler"


def parse_args(argv):
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True, help="HOST:PORT of the CMP server")
    p.add_argument("--path", required=True, help="the server's CMP path, e.g. pkix/")
    p.add_argument("--ref", required=True, help="the reference of the MAC credential")
    p.add_argument(
        "--secret-env",
        default="CMP_SECRET",
        help="environment variable holding the secret as pass:SECRET (default CMP_SECRET)",
    )
    p.add_argument("--recipient", required=True, help="the CA's name, e.g. /CN=root")
    p.add_argument("--trusted", required=True, help="PEM trust anchors for the answers")
    p.add_argument("--csr", required=True, help="PKCS#10 request, PEM or DER")
    p.add_argument("--out", required=True, help="where to write the issued certificate (PEM)")
    p.add_argument("--bundle-out", help="where to write the handler's certificate bundle (PEM)")
    p.add_argument("-v", "--verbose", action="store_true", help="the handler's debug log")
    args = p.parse_args(argv)
    if not os.environ.get(args.secret_env):
        p.error(f"the secret must be in the environment variable {args.secret_env}")
    return args


def handler_config(args, openssl):
    """The handler's configuration (INI), the keys of its documentation.

    Every `cmp_X` key but the ref/secret ones becomes the `openssl cmp` option `-X`
    (a value of True: the bare option). `-ignore_keyusage`: the answers to a MAC-protected
    request carry no signature, and a signed refusal is signed by the CA key, whose
    certificate has no digitalSignature key usage.
    """
    lines = [
        "[CAhandler]",
        f"cmp_openssl_bin = {openssl}",
        f"cmp_server = {args.server}",
        f"cmp_path = {args.path}",
        f"cmp_recipient = {args.recipient}",
        f"cmp_trusted = {os.path.abspath(args.trusted)}",
        "cmp_ignore_keyusage = True",
        f"cmp_ref = {args.ref}",
        f"cmp_secret_variable = {args.secret_env}",
    ]
    return "\n".join(lines) + "\n"


def main(argv):
    args = parse_args(argv)
    openssl = shutil.which("openssl")
    if openssl is None:
        print("cmp_peer: no openssl on PATH", file=sys.stderr)
        return 2
    return run_handler(
        "cmp_peer",
        HANDLER_MODULE,
        handler_config(args, openssl),
        args.csr,
        args.out,
        args.bundle_out,
        args.verbose,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
