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
import logging
import os
import pathlib
import shutil
import sys
import tempfile

from est_peer import csr_base64url, single_certificate_pem

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
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logger = logging.getLogger("cmp_peer")
    try:
        handler_mod = __import__(HANDLER_MODULE, fromlist=["CAhandler"])
    except ImportError as err:
        print(f"cmp_peer: cannot import {HANDLER_MODULE}: {err}", file=sys.stderr)
        return 2
    openssl = shutil.which("openssl")
    if openssl is None:
        print("cmp_peer: no openssl on PATH", file=sys.stderr)
        return 2
    csr = csr_base64url(args.csr)

    with tempfile.TemporaryDirectory(prefix="cmp-peer-") as tmp:
        cfg = pathlib.Path(tmp) / "acme_srv.cfg"
        cfg.write_text(handler_config(args, openssl), encoding="utf-8")
        # load_config() reads the file named by ACME_SRV_CONFIGFILE.
        os.environ["ACME_SRV_CONFIGFILE"] = str(cfg)
        with handler_mod.CAhandler(None, logger) as handler:
            error, cert_bundle, cert_raw, _poll_id = handler.enroll(csr)

    if error:
        print(f"cmp_peer: enroll failed: {error}", file=sys.stderr)
        return 1
    if not cert_raw or not cert_bundle:
        print("cmp_peer: enroll returned no certificate and no error", file=sys.stderr)
        return 1
    try:
        pem = single_certificate_pem(cert_raw)
    except ValueError as err:
        print(f"cmp_peer: {err}", file=sys.stderr)
        return 1
    pathlib.Path(args.out).write_text(pem, encoding="ascii")
    if args.bundle_out:
        pathlib.Path(args.bundle_out).write_text(cert_bundle, encoding="ascii")
    print(f"cmp_peer: enrolled, certificate written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
