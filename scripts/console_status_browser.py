#!/usr/bin/env python3
"""The console's CRL and OCSP status page and the overview's activity chart in headless
Chromium (Playwright), run by bins/cmc-server/tests/console.rs:

    python3 scripts/console_status_browser.py --url http://127.0.0.1:PORT --operator admin \\
        --password-file pw --screenshots target/console-screenshots --ca root --failed 2

Checks: the menu leads to /status; the CA's CRL table and OCSP part are there; "Generate
CRL now" (reached with the keyboard, sent with Enter) makes a CRL whose number the page
then shows, and a POST to it without the CSRF token is refused; the overview's chart is an
SVG image whose accessible name carries the figures, with --failed failed requests this
hour, and whose figure table agrees; no page has inline script or style. Writes
status.png and overview-chart.png. Exit status 0 when every check held, 1 otherwise.
It reuses console_browser.py's page helpers (same directory).
"""

import argparse
import pathlib
import re
import sys

from playwright.sync_api import sync_playwright

from console_browser import Console, check


def status(console, args):
    page = console.page
    console.goto("/")
    with page.expect_navigation():
        page.get_by_role("link", name="CRL and OCSP").click()
    check(page.url.endswith("/status"), f"the menu led to {page.url}")
    check(page.get_by_role("heading", name="CRL and OCSP status").is_visible(), "no heading")
    check(page.locator("caption", has_text=f"CRLs of {args.ca}").count() == 1, "no CRL table")
    check(page.get_by_text(f"/ocsp/{args.ca}").count() >= 1, "no OCSP path")
    # Without the CSRF token: refused, no CRL made.
    refused = console.post_raw(f"/status/{args.ca}/crl", {})
    check(refused.status == 403, f"a CSRF-less generate answered {refused.status}")
    # Keyboard: focus the button, press Enter.
    button = page.get_by_role("button", name="Generate CRL now").first
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    note = page.get_by_role("status").filter(has_text="generated").first.inner_text()
    found = re.search(r"CRL number (\d+) of CA " + re.escape(args.ca) + " generated", note)
    check(found is not None, f"no generated notice: {note!r}")
    number = found.group(1)
    row = page.locator("tbody tr").filter(has_text="(active)").first.inner_text()
    check(number in row, f"the table does not show CRL {number}: {row!r}")
    check("overdue" not in row, f"a fresh CRL shown overdue: {row!r}")
    console.shot("status")


def chart(console, args):
    page = console.page
    console.goto("/")
    svg = page.locator("svg.chart")
    check(svg.count() == 1, "no chart on the overview")
    check(svg.get_attribute("role") == "img", "the chart is not an image to assistive tech")
    title = page.locator("svg.chart title").text_content()
    check(f"and {args.failed} failed request(s)" in title, f"chart title: {title!r}")
    check(page.get_by_text("This node only").is_visible(), "no per-node note")
    # The figure table agrees with the title.
    page.get_by_text("The figures by minute").click()
    failed = sum(int(c.inner_text()) for c in page.locator("details tbody td:nth-child(3)").all())
    check(failed == args.failed, f"the table counts {failed} failed, expected {args.failed}")
    section = page.locator("section", has=page.locator("#activity-heading"))
    section.screenshot(path=str(args.screenshots / "overview-chart.png"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--password-file", required=True, type=pathlib.Path)
    parser.add_argument("--screenshots", required=True, type=pathlib.Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--failed", required=True, type=int)
    args = parser.parse_args()
    password = args.password_file.read_text().splitlines()[0]
    args.screenshots.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True,
                                    args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 700})
            console = Console(page, args.url, args.screenshots)
            try:
                console.login(args.operator, password)
                status(console, args)
                chart(console, args)
            except AssertionError as e:
                console.shot("failed-status")
                print(f"console_status_browser.py: FAILED: {e}", file=sys.stderr)
                return 1
        finally:
            browser.close()
    print("console_status_browser.py: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
