#!/usr/bin/env python3
"""Drive cmc-server's operator console on its TLS listener in headless Chromium (Playwright).

The Rust test bins/cmc-server/tests/console_tls.rs starts the server with `[console.tls]`
(client certificates optional, trusted: the CA's root), issues an agent and an RA credential
with `cmc-tool client add ... --issue`, leaves a request pending with `cmc-tool enroll`, then
runs this script in phases and checks the CA side itself:

    python3 scripts/console_browser_tls.py --url https://127.0.0.1:PORT --screenshots DIR \\
        agent --cert agent.pem --key agent-plain.key --approve ID
    python3 scripts/console_browser_tls.py ... password --operator admin --password-file pw
    python3 scripts/console_browser_tls.py ... refused --cert ra.pem --key ra.key --expect "role ra"
    python3 scripts/console_browser_tls.py ... foreign --cert other.pem --key other.key

Keys must be unencrypted PEM (Playwright reads them so). Chromium is the Debian package,
launched by path (--chromium). Every check is an assertion: exit status 0 when all held,
1 with the failed check on stderr otherwise, 2 for bad arguments.

  agent     "Log in with your certificate" logs the agent in (no password); the session
            cookie is __Host- prefixed, Secure, HttpOnly, SameSite=Strict; answers carry
            HSTS; the pending request is approved; disabling a client is refused (403).
  password  a browser without a client certificate still logs in with the password
            (loopback).
  refused   the certificate login of a non-agent is refused with the reason, and gives
            no session.
  foreign   a client certificate of another CA: the TLS listener refuses the connection.
Screenshots go to --screenshots, named tls-*.png.
"""

import argparse
import pathlib
import sys

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright


def check(ok, what):
    if not ok:
        raise AssertionError(what)


class Console:
    def __init__(self, browser, url, shots, cert=None, key=None):
        self.url = url.rstrip("/")
        self.shots = shots
        options = {"ignore_https_errors": True, "viewport": {"width": 1024, "height": 768}}
        if cert:
            options["client_certificates"] = [
                {"origin": self.url, "certPath": cert, "keyPath": key}
            ]
        self.context = browser.new_context(**options)
        self.page = self.context.new_page()

    def goto(self, path):
        response = self.page.goto(self.url + path)
        check(response is not None, f"no response for {path}")
        hsts = response.headers.get("strict-transport-security", "")
        check(hsts.startswith("max-age="), f"{path}: no HSTS on the TLS listener: {hsts!r}")
        return response

    def shot(self, name):
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"tls-{name}.png"), full_page=True)

    def certificate_login(self):
        self.goto("/login")
        button = self.page.get_by_role("button", name="Log in with your certificate")
        check(button.is_visible(), "no certificate login button")
        with self.page.expect_navigation() as nav:
            button.click()
        return nav.value

    def session_cookie(self):
        return [c for c in self.context.cookies() if c["name"].endswith("cmc-console")]


def agent(console, args):
    page = console.page
    console.goto("/login")
    console.shot("login")
    console.certificate_login()
    check(page.url == console.url + "/", f"after the certificate login: {page.url}")
    check(f"Signed in as {args.name}" in page.inner_text("header"),
          f"not signed in as {args.name}: {page.inner_text('header')}")
    cookies = console.session_cookie()
    check(len(cookies) == 1, f"session cookies: {cookies}")
    c = cookies[0]
    check(c["name"] == "__Host-cmc-console", f"cookie name {c['name']}")
    check(c["secure"] and c["httpOnly"] and c["sameSite"] == "Strict", f"cookie flags {c}")
    check(c["path"] == "/" and not c["domain"].startswith("."), f"cookie scope {c}")
    console.shot("overview")

    console.goto("/pending")
    check(args.approve in page.content(), "the pending list lacks the request")
    console.shot("pending")
    console.goto(f"/pending/{args.approve}")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve and issue").click()
    check(page.url.endswith(f"/pending/{args.approve}"), f"after approving: {page.url}")
    check("approved" in page.inner_text("main"), "the request is not shown approved")
    console.shot("pending-approved")

    # No administration: the disable button answers 403 and the client stays.
    console.goto("/clients")
    disable = page.get_by_role("button", name=f"Disable client {args.client}")
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation() as nav:
        disable.click()
    check(nav.value.status == 403, f"an agent disabled a client: {nav.value.status}")
    check("Only operators" in page.inner_text("main"), "no reason on the 403 page")
    console.shot("agent-forbidden")
    console.goto("/clients")
    check(page.get_by_role("button", name=f"Disable client {args.client}").is_visible(),
          f"client {args.client} was disabled")


def password(console, args):
    page = console.page
    secret = pathlib.Path(args.password_file).read_text().rstrip("\n")
    console.goto("/login")
    page.get_by_label("Operator").fill(args.operator)
    page.get_by_label("Password").fill(secret)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in", exact=True).click()
    check(page.url == console.url + "/", f"after the password login: {page.url}")
    check(f"Signed in as {args.operator}" in page.inner_text("header"), "not signed in")
    cookies = console.session_cookie()
    check(len(cookies) == 1 and cookies[0]["secure"], f"cookies {cookies}")
    console.shot("password-overview")


def refused(console, args):
    page = console.page
    response = console.certificate_login()
    check(response.status == 403, f"a refused certificate login answered {response.status}")
    check(args.expect in page.inner_text("main"),
          f"no reason {args.expect!r}: {page.inner_text('main')}")
    check(not console.session_cookie(), "a refused login left a session cookie")
    console.shot("refused")
    console.goto("/pending")
    check(page.url.endswith("/login"), f"refused, yet reached {page.url}")


def foreign(console, _args):
    try:
        response = console.page.goto(console.url + "/login")
    except PlaywrightError as e:
        print(f"refused by TLS as expected: {str(e).splitlines()[0]}")
        return
    # Playwright's client-certificate proxy turns the server's TLS alert into
    # its own 503, which no console answer is (those carry the CSP).
    body = response.text()
    from_console = "content-security-policy" in response.headers
    check(response.status == 503 and not from_console,
          f"a certificate of another CA connected: {response.status} {body[:200]!r}")
    print(f"refused by TLS as expected: {body.splitlines()[0] if body else response.status}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--screenshots", required=True, type=pathlib.Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    sub = parser.add_subparsers(dest="phase", required=True)
    p = sub.add_parser("agent")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--approve", required=True)
    p.add_argument("--client", required=True, help="a client the agent may not disable")
    p = sub.add_parser("password")
    p.add_argument("--operator", required=True)
    p.add_argument("--password-file", required=True)
    p = sub.add_parser("refused")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--expect", required=True)
    p = sub.add_parser("foreign")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    args = parser.parse_args()
    phases = {"agent": agent, "password": password, "refused": refused, "foreign": foreign}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, headless=True)
        try:
            console = Console(browser, args.url, args.screenshots,
                              getattr(args, "cert", None), getattr(args, "key", None))
            phases[args.phase](console, args)
        finally:
            browser.close()
    print(f"{args.phase}: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"check failed: {e}", file=sys.stderr)
        sys.exit(1)
