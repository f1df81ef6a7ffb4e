#!/usr/bin/env python3
"""Enroll one certificate through an EST server with acme2certifier's EST CA handler.

The handler is an EST client nobody here wrote (PyPI `acme2certifier`, module
`acme2certifier.cahandlers.est_ca_handler`, class `CAhandler`). This driver does what
acme2certifier itself does when an ACME order is finalised: it writes the handler's
`[CAhandler]` configuration, enters the handler (which loads that configuration) and calls
`CAhandler.enroll(csr)` with the CSR as base64url DER (how ACME carries it). The handler
then does `GET {est_host}/.well-known/est/cacerts` and `POST .../simpleenroll` on its own;
nothing of the handler is patched or re-implemented here.

Usage (client certificate, or HTTP Basic with the password in an environment variable):

    python3 scripts/est_peer.py --url https://127.0.0.1:8443 --ca-bundle tls-ca.pem \\
        --client-cert client.pem --client-key client.key --csr req.pem --out cert.pem
    EST_PASSWORD=s3cret python3 scripts/est_peer.py --url https://127.0.0.1:8443 \\
        --ca-bundle tls-ca.pem --user device-1 --csr req.pem --out cert.pem --bundle-out chain.pem

Packages the handler imports when loaded (acme2certifier installed with --no-deps):
    pip install --no-deps acme2certifier==0.46.3
    pip install requests requests_pkcs12 cryptography python-dateutil pyasn1 \\
        pyasn1_modules jwcrypto pysocks dnspython pyyaml

Outputs: --out gets the issued certificate (PEM) taken from the handler's `cert_raw`, which
must hold exactly one certificate (RFC 7030 §4.2.3: the simpleenroll reply contains "only
the certificate that was issued"); --bundle-out gets the handler's `cert_bundle` (the
issued certificate followed by the /cacerts certificates, PEM), which acme2certifier would
hand to the ACME client.

Exit status: 0 on success; 1 if the handler reports an error (printed on stderr) or its
result is not one certificate; 2 for bad arguments or an unusable handler configuration.
"""

import argparse
import base64
import logging
import os
import pathlib
import sys
import tempfile
import textwrap

HANDLER_MODULE = "acme2certifier.cahandlers.est_ca_handler"


def parse_args(argv):
    """The command line; exactly one of the two authentication methods."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--url",
        required=True,
        help="EST server base URL without a path, e.g. https://127.0.0.1:8443 "
        "(the handler appends /.well-known/est; it has no CA label)",
    )
    p.add_argument(
        "--ca-bundle",
        required=True,
        help="PEM file of the CA that issued the server's TLS certificate",
    )
    p.add_argument("--csr", required=True, help="PKCS#10 request, PEM or DER")
    p.add_argument("--out", required=True, help="where to write the issued certificate (PEM)")
    p.add_argument("--bundle-out", help="where to write the handler's certificate bundle (PEM)")
    p.add_argument("--client-cert", help="TLS client certificate (PEM)")
    p.add_argument("--client-key", help="TLS client key (PEM, unencrypted)")
    p.add_argument("--user", help="HTTP Basic identification")
    p.add_argument(
        "--password-env",
        default="EST_PASSWORD",
        help="environment variable holding the HTTP Basic secret (default EST_PASSWORD); "
        "the handler reads it itself through its est_password_variable option",
    )
    p.add_argument("--timeout", type=int, default=20, help="request timeout in seconds")
    p.add_argument("-v", "--verbose", action="store_true", help="the handler's debug log")
    args = p.parse_args(argv)
    cert_auth = args.client_cert is not None or args.client_key is not None
    if cert_auth == (args.user is not None):
        p.error("give either --client-cert and --client-key, or --user")
    if cert_auth and not (args.client_cert and args.client_key):
        p.error("--client-cert and --client-key go together")
    if args.user is not None:
        if not args.user:
            p.error("--user must not be empty")
        if not os.environ.get(args.password_env):
            p.error(f"--user needs the secret in the environment variable {args.password_env}")
    return args


def handler_config(args):
    """The handler's configuration file (INI), as acme2certifier's acme_srv.cfg has it.

    Keys the handler reads from [CAhandler]: est_host, est_client_cert + est_client_key
    (PEM files) or est_client_cert + cert_passphrase[_variable] (PKCS#12), est_user[_variable],
    est_password[_variable], ca_bundle, request_timeout; proxies from [DEFAULT]
    proxy_server_list (not used here).
    """
    lines = [
        "[CAhandler]",
        f"est_host = {args.url.rstrip('/')}",
        f"ca_bundle = {os.path.abspath(args.ca_bundle)}",
        f"request_timeout = {args.timeout}",
    ]
    if args.user is not None:
        lines.append(f"est_user = {args.user}")
        lines.append(f"est_password_variable = {args.password_env}")
    else:
        lines.append(f"est_client_cert = {os.path.abspath(args.client_cert)}")
        lines.append(f"est_client_key = {os.path.abspath(args.client_key)}")
    return "\n".join(lines) + "\n"


def csr_base64url(path):
    """The CSR's DER as unpadded base64url: the form acme2certifier passes to enroll()."""
    data = pathlib.Path(path).read_bytes()
    if b"-----BEGIN" in data:
        from cryptography import x509  # the handler depends on cryptography anyway
        from cryptography.hazmat.primitives.serialization import Encoding

        data = x509.load_pem_x509_csr(data).public_bytes(Encoding.DER)
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def single_certificate_pem(cert_raw):
    """The handler's cert_raw (base64 DER without line breaks) as PEM, if it is one certificate.

    The handler strips the PEM armour of every certificate in the simpleenroll reply and
    joins what is left: a reply with more than the issued certificate gives a string that
    is not one DER certificate, which is reported here rather than written out.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        der = base64.b64decode(cert_raw, validate=True)
        cert = x509.load_der_x509_certificate(der)
    except ValueError as err:
        raise ValueError(
            f"the simpleenroll reply is not exactly one certificate ({err}); "
            "RFC 7030 §4.2.3 wants only the issued certificate"
        ) from err
    if cert.public_bytes(Encoding.DER) != der:
        raise ValueError("the simpleenroll reply holds data after the certificate")
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def run_handler(prog, module, config_text, csr_path, out, bundle_out, verbose):
    """Enters acme2certifier's CA handler `module` with `config_text` as its configuration,
    calls enroll() with the CSR at `csr_path`, and writes the certificate (and the bundle).
    Returns the exit status of the command line: 0, 1 (enroll failed or its result is not
    one certificate) or 2 (the handler cannot be imported or its configuration is bad)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logger = logging.getLogger(prog)
    try:
        handler_mod = __import__(module, fromlist=["CAhandler"])
    except ImportError as err:
        print(f"{prog}: cannot import {module}: {err}", file=sys.stderr)
        return 2
    csr = csr_base64url(csr_path)

    with tempfile.TemporaryDirectory(prefix=f"{prog}-") as tmp:
        cfg = pathlib.Path(tmp) / "acme_srv.cfg"
        cfg.write_text(config_text, encoding="utf-8")
        # load_config() reads the file named by ACME_SRV_CONFIGFILE.
        os.environ["ACME_SRV_CONFIGFILE"] = str(cfg)
        with handler_mod.CAhandler(None, logger) as handler:
            # Not every handler has a configuration check (the CMP one has none).
            config_error = handler.handler_check() if hasattr(handler, "handler_check") else None
            if config_error:
                print(f"{prog}: handler configuration: {config_error}", file=sys.stderr)
                return 2
            error, cert_bundle, cert_raw, _poll_id = handler.enroll(csr)

    if error:
        print(f"{prog}: enroll failed: {error}", file=sys.stderr)
        return 1
    if not cert_raw or not cert_bundle:
        print(f"{prog}: enroll returned no certificate and no error", file=sys.stderr)
        return 1
    try:
        pem = single_certificate_pem(cert_raw)
    except ValueError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 1
    pathlib.Path(out).write_text(pem, encoding="ascii")
    if bundle_out:
        pathlib.Path(bundle_out).write_text(cert_bundle, encoding="ascii")
    print(f"{prog}: enrolled, certificate written to {out}")
    return 0


def main(argv):
    args = parse_args(argv)
    return run_handler(
        "est_peer",
        HANDLER_MODULE,
        handler_config(args),
        args.csr,
        args.out,
        args.bundle_out,
        args.verbose,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
