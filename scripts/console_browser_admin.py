#!/usr/bin/env python3
"""Add a client and one-time secrets in cmc-server's console (Playwright, headless Chromium).

The Rust test bins/cmc-server/tests/console_admin.rs starts the server, makes a key and a
PKCS #10 request with `openssl req`, runs this script, then checks the CA side itself
(`openssl verify` of the downloaded credential, `cmc-tool enroll` with the secrets, the
server's log, the audit events):

    python3 scripts/console_browser_admin.py --url http://127.0.0.1:PORT --operator admin \\
        --password-file pw --screenshots target/console-screenshots --client dev-1 \\
        --dns dev-1.example.test --csr dev-1.csr --cert-out dev-1.pem --chain-out chain.pem \\
        --secret device-1 --revoke device-2 --secrets-out secrets.txt

What it checks in the browser: every control of the two forms has a label; the client is
added from the pasted request and its certificate and CA chain download (saved to
--cert-out and --chain-out); the same name again is refused with a clear message and the
form keeps what was typed; a secret is added and shown once (written to --secrets-out,
mode 0600, as ID=SECRET lines), and the secrets page does not show it afterwards; the
second secret is added and revoked with JavaScript off (every action works without it),
after which the page shows it expired; a revocation POST without the CSRF token is
refused. Screenshots: admin-*.png in --screenshots. Exit status 0 when every check held,
1 with the failed check on stderr otherwise.
"""

import argparse
import os
import pathlib
import sys

from playwright.sync_api import sync_playwright

from console_browser import Console, check


def labelled(console, form_path):
    """Every visible input, select and textarea of the page has a label."""
    unlabelled = console.page.evaluate(
        """() => [...document.querySelectorAll('main input, main select, main textarea')]
             .filter(e => e.type !== 'hidden')
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
             .map(e => e.name || e.id)""")
    check(not unlabelled, f"{form_path}: controls without a label: {unlabelled}")


def add_client(console, args, csr):
    page = console.page
    console.goto("/clients")
    with page.expect_navigation():
        page.get_by_role("link", name="Add a client and issue its credential").click()
    check(page.url.endswith("/clients/add"), f"add link went to {page.url}")
    labelled(console, "/clients/add")
    console.shot("admin-client-add")

    def fill():
        page.get_by_label("Client name").fill(args.client)
        page.get_by_label("Role").select_option("client")
        page.get_by_label("CA that signs the credential").select_option(args.ca)
        page.get_by_label("DNS names an end entity may be issued", exact=False).fill(args.dns)
        page.get_by_label("Days the credential is valid").fill("30")
        page.get_by_label("Certificate request (PKCS #10, PEM)", exact=False).fill(csr)

    fill()
    with page.expect_navigation():
        page.get_by_role("button", name="Add client and issue its credential").click()
    html = page.content()
    check(f"Client {args.client} added" in html, "the client was not added: " + html[-2000:])
    check("BEGIN CERTIFICATE" in page.get_by_label("The client's certificate (PEM)").input_value(),
          "the issued certificate is not shown")
    console.shot("admin-client-added")
    with page.expect_download() as d:
        page.get_by_role("link", name="Download the certificate (PEM)").click()
    d.value.save_as(args.cert_out)
    with page.expect_download() as d:
        page.get_by_role("link", name="Download the CA chain (PEM)").click()
    d.value.save_as(args.chain_out)
    console.goto("/clients")
    check(args.client in page.content(), "the clients page lacks the new client")

    # The same name again: refused, said clearly, what was typed kept.
    console.goto("/clients/add")
    fill()
    with page.expect_navigation():
        page.get_by_role("button", name="Add client and issue its credential").click()
    alert = page.get_by_role("alert")
    check("exists already" in alert.inner_text(), "no clear message for a taken name")
    check(page.get_by_label("Client name").input_value() == args.client, "the name was not kept")
    check("BEGIN CERTIFICATE REQUEST" in page.get_by_label(
        "Certificate request (PKCS #10, PEM)", exact=False).input_value(),
        "the request was not kept")
    console.shot("admin-client-duplicate")


def add_secret(console, args, identification, shot):
    page = console.page
    console.goto("/secrets/add")
    labelled(console, "/secrets/add")
    if shot:
        console.shot("admin-secret-add")
    page.get_by_label("CA it enrolls with").select_option(args.ca)
    page.get_by_label("Identification", exact=False).fill(identification)
    page.get_by_label("Lifetime (days)").fill("1")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the secret").click()
    secret = page.get_by_label("The one-time secret").input_value()
    check(len(secret) == 32, f"no secret shown for {identification}: {page.content()[-1500:]}")
    if shot:
        console.shot("admin-secret-added")
    # Never again: not on the list.
    console.goto("/secrets")
    html = page.content()
    check(identification in html, f"{identification} is not listed")
    check(secret not in html, "the secrets page shows the secret")
    return secret


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--password-file", required=True, type=pathlib.Path)
    parser.add_argument("--screenshots", required=True, type=pathlib.Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--ca", default="root")
    parser.add_argument("--client", required=True)
    parser.add_argument("--dns", required=True)
    parser.add_argument("--csr", required=True, type=pathlib.Path)
    parser.add_argument("--cert-out", required=True)
    parser.add_argument("--chain-out", required=True)
    parser.add_argument("--secret", required=True, help="identification of the secret kept")
    parser.add_argument("--revoke", required=True, help="identification of the secret revoked")
    parser.add_argument("--secrets-out", required=True, type=pathlib.Path)
    args = parser.parse_args()
    password = args.password_file.read_text().splitlines()[0]
    csr = args.csr.read_text()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True,
                                    args=["--no-sandbox"])
        console = None
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 700},
                                    accept_downloads=True)
            console = Console(page, args.url, args.screenshots)
            console.login(args.operator, password)
            check(page.url == console.url + "/", f"after login: {page.url}")
            add_client(console, args, csr)
            kept = add_secret(console, args, args.secret, True)

            # Without JavaScript: add the second secret and revoke it (the
            # confirmation question is the script's; the form works without).
            nojs = browser.new_context(java_script_enabled=False,
                                       viewport={"width": 1024, "height": 700})
            console = Console(nojs.new_page(), args.url, args.screenshots)
            console.login(args.operator, password)
            revoked = add_secret(console, args, args.revoke, False)
            forged = console.post_raw("/secrets/revoke",
                                      {"ca": args.ca, "identification": args.revoke})
            check(forged.status == 403, f"revocation without the CSRF token: {forged.status}")
            console.goto("/secrets")
            with console.page.expect_navigation():
                console.page.get_by_role("button", name=f"Revoke secret {args.revoke}").click()
            row = console.page.get_by_role("row").filter(has_text=args.revoke)
            check("expired" in row.inner_text(), f"revoked secret: {row.inner_text()}")
            check(console.page.get_by_role("button", name=f"Revoke secret {args.secret}")
                  .is_visible(), "the other secret lost its revoke button")
            console.shot("admin-secrets-revoked")

            fd = os.open(args.secrets_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"{args.secret}={kept}\n{args.revoke}={revoked}\n")
        except AssertionError as e:
            if console is not None:
                console.shot("admin-failed")
            print(f"console_browser_admin.py: FAILED: {e}", file=sys.stderr)
            return 1
        finally:
            browser.close()
    print("console_browser_admin.py: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
