#!/usr/bin/env python3
"""Drive cmc-server's operator console in headless Chromium (Playwright).

The Rust test bins/cmc-server/tests/console.rs starts the server, sets the operator
password with `cmc-tool console passwd`, leaves requests pending with `cmc-tool enroll`,
then runs this script in phases and checks the CA side itself (`--query-pending`,
`openssl ocsp`):

    python3 scripts/console_browser.py --url http://127.0.0.1:PORT --operator admin \\
        --password-file pw --screenshots target/console-screenshots \\
        decide --approve ID --reject ID --reason "unknown requester"
    python3 scripts/console_browser.py ... revoke --ca root --serial HEX

Chromium is the Debian package, launched by path (--chromium, default /usr/bin/chromium);
Playwright's own browser download is not used. Every check is an assertion: exit status
0 when all held, 1 with the failed check on stderr otherwise, 2 for bad arguments.

What the phases check in the browser:
  decide  a page without a session redirects to /login; a wrong password is refused; the
          login works; every page has its security headers and no inline script; a POST
          with the session but without the CSRF token is refused (403), and one without
          the session too; the request to approve is approved (keyboard only: its form is
          reached with Tab and sent with Enter) and shows its certificate; the request to
          reject is rejected with the reason, which its page then shows.
  revoke  the certificate page offers PEM and DER; revoking without the confirmation is
          refused; with it (reason keyCompromise), the page shows the revocation; the list
          finds it by serial and status; the CSV export has it; the certificate's audit
          trail and /audit (by kind, serial and requester) show the revocation by the
          operator; the clients page lists the
          bootstrap RA; at half the width (200 % zoom) no page scrolls sideways.
Screenshots of each page go to --screenshots (PNG, 1024 px wide).
"""

import argparse
import os
import pathlib
import sys

from playwright.sync_api import sync_playwright

CSP_NEEDLE = "default-src 'none'; script-src 'self'; style-src 'self'"


def check(ok, what):
    if not ok:
        raise AssertionError(what)


class Console:
    def __init__(self, page, url, shots):
        self.page = page
        self.url = url.rstrip("/")
        self.shots = shots

    def goto(self, path):
        response = self.page.goto(self.url + path)
        check(response is not None, f"no response for {path}")
        headers = response.headers
        check(CSP_NEEDLE in headers.get("content-security-policy", ""),
              f"{path}: Content-Security-Policy missing: {headers}")
        check(headers.get("x-frame-options") == "DENY", f"{path}: X-Frame-Options")
        check(headers.get("x-content-type-options") == "nosniff", f"{path}: nosniff")
        html = self.page.content()
        check("<script>" not in html and " style=" not in html,
              f"{path}: inline script or style")
        return response

    def shot(self, name):
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def login(self, operator, password):
        self.goto("/login")
        self.page.get_by_label("Operator").fill(operator)
        self.page.get_by_label("Password").fill(password)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Log in").click()

    def post_raw(self, path, form):
        """A POST from the page's context (its cookies), not through a form."""
        return self.page.request.post(self.url + path, form=form,
                                      headers={"Origin": self.url})


def decide(console, args, password):
    page = console.page
    # No session: a page redirects to the login form.
    console.goto("/pending")
    check(page.url.endswith("/login"), f"no session: landed on {page.url}")
    console.shot("login")
    # A wrong password is refused.
    console.login(args.operator, password + "x")
    check(page.url.endswith("/login"), "a wrong password logged in")
    check("Wrong operator name or password" in page.content(), "no error for a wrong password")
    # No session, POST: refused.
    refused = console.post_raw(f"/pending/{args.reject}/reject", {"reason": "x"})
    check(refused.status == 403, f"POST without a session: {refused.status}")
    console.login(args.operator, password)
    check(page.url == console.url + "/", f"after login: {page.url}")
    check(page.get_by_role("heading", name="Overview").is_visible(), "no overview")
    console.shot("overview")
    # With the session but no CSRF token: refused, nothing decided.
    forged = console.post_raw(f"/pending/{args.reject}/reject", {"reason": "forged"})
    check(forged.status == 403, f"POST without the CSRF token: {forged.status}")
    forged = console.post_raw(f"/pending/{args.reject}/reject",
                              {"reason": "forged", "csrf": "0" * 64})
    check(forged.status == 403, f"POST with a wrong CSRF token: {forged.status}")

    console.goto("/pending")
    check(args.approve in page.content() and args.reject in page.content(),
          "the pending list lacks the requests")
    console.shot("pending")

    # Approve with the keyboard only: focus the approve button by Tab, press Enter.
    console.goto(f"/pending/{args.approve}")
    # The policy's decision: what approving would issue, before deciding.
    decision = page.get_by_role("region", name="Policy decision")
    check(decision.count() == 1, "the pending request has no policy decision")
    text = decision.inner_text()
    check("within the requester's names" in text, f"names check: {text}")
    check("approve-me.example.test" in text, f"subject issued: {text}")
    console.shot("pending-request")
    approve = page.get_by_role("button", name="Approve and issue")
    for _ in range(40):
        page.keyboard.press("Tab")
        if approve.evaluate("b => b === document.activeElement"):
            break
    else:
        raise AssertionError("the approve button is not reachable with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check(page.url.endswith(f"/pending/{args.approve}"), f"after approval: {page.url}")
    check("approved" in page.content(), "the request does not show as approved")
    check(f"console:{args.operator}" in page.content(), "the decision does not name the operator")

    # Reject with a reason.
    console.goto(f"/pending/{args.reject}")
    page.get_by_label("Reason (the requester sees it)").fill(args.reason)
    with page.expect_navigation():
        page.get_by_role("button", name="Reject request").click()
    html = page.content()
    check("rejected" in html and args.reason in html, "the rejection and its reason are not shown")
    console.shot("pending-rejected")


def revoke(console, args, password):
    page = console.page
    console.login(args.operator, password)
    console.goto(f"/certs?q={args.serial}")
    check(args.serial in page.content(), "the search by serial does not find the certificate")
    console.shot("certificates")
    console.goto(f"/certs/{args.ca}/{args.serial}")
    check(page.get_by_role("link", name="Download PEM").is_visible(), "no PEM download")
    check(page.get_by_role("link", name="Download DER").is_visible(), "no DER download")
    console.shot("certificate")
    pem = page.request.get(f"{console.url}/certs/{args.ca}/{args.serial}.pem")
    check(pem.status == 200 and pem.text().startswith("-----BEGIN CERTIFICATE-----"), "PEM download")
    # The script's confirm() dialog (progressive enhancement) is accepted.
    page.on("dialog", lambda dialog: dialog.accept())
    # Without the confirmation (the browser's own `required` check bypassed): refused.
    page.get_by_label("Reason").select_option(label="keyCompromise")
    page.evaluate("document.querySelector('#confirm').removeAttribute('required')")
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke certificate").click()
    check("Tick the confirmation" in page.content(), "revoked without the confirmation")
    # With it.
    page.get_by_label("Reason").select_option(label="keyCompromise")
    page.get_by_label(f"I confirm the revocation of serial {args.serial}").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke certificate").click()
    html = page.content()
    check("revoked" in html and "keyCompromise" in html, "the page does not show the revocation")
    console.shot("certificate-revoked")
    console.goto("/certs?status=revoked")
    check(args.serial in page.content(), "the revoked filter does not list it")
    csv = page.request.get(f"{console.url}/certs.csv?status=revoked")
    check(csv.status == 200 and args.serial in csv.text() and "keyCompromise" in csv.text(),
          "the CSV export lacks the revocation")
    # The audit log: the revocation, by this operator, on the certificate's
    # trail and in /audit filtered by kind and serial.
    console.goto(f"/certs/{args.ca}/{args.serial}")
    trail = page.get_by_role("region", name="Audit trail")
    check(trail.is_visible(), "the certificate page has no audit trail")
    check("revoked" in trail.inner_text() and f"console:{args.operator}" in trail.inner_text(),
          "the audit trail lacks the revocation by the operator")
    console.goto(f"/audit?kind=revoked&serial={args.serial}")
    html = page.content()
    check(args.serial in html and f"console:{args.operator}" in html,
          "the audit log filtered by kind and serial lacks the revocation")
    page.get_by_label("Requester (who acted)").fill(f"console:{args.operator}")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    check(f"requester=console%3A{args.operator}" in page.url, f"the filter is not kept: {page.url}")
    check(args.serial in page.content(), "the requester filter loses the revocation")
    console.shot("audit")
    console.goto("/clients")
    check("bootstrap-ra" in page.content(), "the clients page lacks the bootstrap RA")
    console.shot("clients")
    if args.secret:
        console.goto("/secrets")
        html = page.content()
        check(args.secret in html and "usable" in html, "the secrets page lacks the secret")
        # The secret itself (given in the environment, never in argv) is not shown.
        value = os.environ.get("CONSOLE_SECRET_VALUE", "")
        check(value and value not in html, "the secrets page shows a secret")
        console.shot("secrets")
    # 200 % zoom: half the CSS width; no page scrolls sideways (wide tables
    # scroll inside themselves), the menu still reachable.
    page.set_viewport_size({"width": 512, "height": 700})
    for path in ["/", "/certs", f"/certs/{args.ca}/{args.serial}", "/pending?state=all",
                 "/clients"]:
        console.goto(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(overflow <= 1, f"{path} scrolls sideways at 200 %: {overflow} px")
        check(page.get_by_role("link", name="Certificates").is_visible(),
              f"{path}: the menu is not visible at 200 %")
    console.shot("clients-200pct")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--password-file", required=True, type=pathlib.Path)
    parser.add_argument("--screenshots", required=True, type=pathlib.Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    phases = parser.add_subparsers(dest="phase", required=True)
    d = phases.add_parser("decide")
    d.add_argument("--approve", required=True)
    d.add_argument("--reject", required=True)
    d.add_argument("--reason", required=True)
    r = phases.add_parser("revoke")
    r.add_argument("--ca", required=True)
    r.add_argument("--serial", required=True)
    r.add_argument("--secret", help="the identification of a one-time secret to see listed")
    args = parser.parse_args()
    password = args.password_file.read_text().splitlines()[0]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True,
                                    args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 700})
            console = Console(page, args.url, args.screenshots)
            try:
                if args.phase == "decide":
                    decide(console, args, password)
                else:
                    revoke(console, args, password)
            except AssertionError as e:
                console.shot(f"failed-{args.phase}")
                print(f"console_browser.py {args.phase}: FAILED: {e}", file=sys.stderr)
                return 1
        finally:
            browser.close()
    print(f"console_browser.py {args.phase}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
