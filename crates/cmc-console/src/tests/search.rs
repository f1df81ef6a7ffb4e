//! The certificate search, CSV export, overview counts and audit log over
//! a store with more rows than a page.

use cmc_ca::types::{BulkCert, IssuedCert, Revocation, RevocationReason, Serial};

use super::{Fixture, body, fixture, header, req};

/// Stores `n` certificates of "root": subject `CN=row-<i>,O=Bulk`, SAN
/// `dNSName:row-<i>.example`, requester `bulk-<i % 2>`, every seventh
/// revoked. Returns their serials in storage order.
fn load(f: &Fixture, n: u64) -> Vec<String> {
    let now = f.engine.now();
    let rows: Vec<BulkCert> = (0..n)
        .map(|i| BulkCert {
            issuer: "root".into(),
            serial: Serial::from_be_bytes(&[
                0x7e,
                0x51,
                u8::try_from(i >> 8).unwrap(),
                u8::try_from(i & 0xff).unwrap(),
            ])
            .unwrap(),
            requester: format!("bulk-{}", i % 2),
            profile: "tls".into(),
            request_hash: vec![0; 32],
            cert: IssuedCert {
                cert_der: vec![0x30, 0x00],
                subject: format!("CN=row-{i},O=Bulk"),
                sans: vec![format!("dNSName:row-{i}.example")],
                not_before: now,
                not_after: now.plus_secs(86_400),
                issued_at: now,
            },
            revocation: (i % 7 == 0).then_some(Revocation {
                reason: RevocationReason::Superseded,
                revoked_at: now,
                invalidity_date: None,
            }),
        })
        .collect();
    f.engine.records().bulk_insert(&rows).unwrap();
    rows.iter().map(|r| r.serial.to_hex()).collect()
}

/// The `href` of the link with `rel` on a page, unescaped.
fn link(page: &str, rel: &str) -> Option<String> {
    let at = page.find(&format!("rel=\"{rel}\""))?;
    let start = page[..at].rfind("href=\"")? + 6;
    let end = start + page[start..].find('"')?;
    Some(page[start..end].replace("&amp;", "&"))
}

fn rows(page: &str) -> Vec<String> {
    page.match_indices("<td class=\"mono\"><a href=\"/certs/root/")
        .map(|(at, m)| {
            let rest = &page[at + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

#[test]
fn pages_of_fifty_follow_the_cursor_and_keep_the_filters() {
    let f = fixture();
    let (session, _) = f.login();
    let serials = load(&f, 130);
    let get = |path: &str| {
        let r = f
            .console
            .handle(&f.engine, &req("GET", path, Some(&session), b""));
        assert_eq!(r.status, 200, "{path}: {}", body(&r));
        body(&r)
    };
    // requester bulk-1: the odd rows, 65 of them, newest first.
    let first = get("/certs?requester=bulk-1&status=issued");
    let odd_issued: Vec<String> = (0..130)
        .rev()
        .filter(|i| i % 2 == 1 && i % 7 != 0)
        .map(|i| serials[i].clone())
        .collect();
    assert_eq!(rows(&first), odd_issued[..50]);
    assert!(link(&first, "prev").is_none());
    let next = link(&first, "next").expect("a next link");
    assert!(
        next.starts_with("/certs?requester=bulk%2D1&status=issued&older="),
        "{next}"
    );
    let second = get(&next);
    assert_eq!(rows(&second), odd_issued[50..]);
    assert!(link(&second, "next").is_none(), "the last page");
    let prev = link(&second, "prev").expect("a previous link");
    assert!(
        prev.contains("requester=bulk%2D1&status=issued&newer="),
        "{prev}"
    );
    assert_eq!(rows(&get(&prev)), rows(&first));
    // The form shows the filters it was given.
    assert!(second.contains("id=\"requester\" name=\"requester\" type=\"text\" value=\"bulk-1\""));

    // Each filter reaches the store.
    assert_eq!(
        rows(&get("/certs?subject=ROW-12%2C")),
        [serials[12].clone()]
    );
    assert_eq!(
        rows(&get("/certs?san=row-99.example")),
        [serials[99].clone()]
    );
    assert_eq!(
        rows(&get(&format!("/certs?serial={}", serials[77]))),
        [serials[77].clone()]
    );
    assert_eq!(rows(&get("/certs?q=row-5.example")), [serials[5].clone()]);
    let revoked = rows(&get("/certs?status=revoked&ca=root"));
    assert_eq!(revoked.len(), 19);
    assert_eq!(revoked[0], serials[126]);
    let today = crate::pages::time(f.engine.now())[..10].to_owned();
    let by_day = get(&format!(
        "/certs?issued_from={today}&issued_to={today}&subject=O%3DBulk"
    ));
    assert_eq!(rows(&by_day).len(), 50);
    let none = get(&format!("/certs?expires_to={today}&subject=O%3DBulk"));
    assert!(none.contains("0 certificate(s) match"), "{none}");

    // A filter that does not parse is the operator's error, not a 500.
    for bad in [
        "/certs?serial=xyz",
        "/certs?issued_from=2026-02-30",
        "/certs?older=x",
    ] {
        let r = f
            .console
            .handle(&f.engine, &req("GET", bad, Some(&session), b""));
        assert_eq!(r.status, 400, "{bad}");
    }
}

#[test]
fn csv_reads_every_page_and_overview_counts_by_status() {
    let f = fixture();
    let (session, _) = f.login();
    let serials = load(&f, 1234);
    let r = f.console.handle(
        &f.engine,
        &req("GET", "/certs.csv?subject=o%3Dbulk", Some(&session), b""),
    );
    assert_eq!(r.status, 200);
    assert!(header(&r, "x-export-truncated").is_empty());
    let csv = body(&r);
    let lines: Vec<&str> = csv.lines().collect();
    // The header and 1234 rows over two store pages, newest first.
    assert_eq!(lines.len(), 1235);
    assert!(
        lines[1].starts_with(&format!("root,{},issued", serials[1233])),
        "{}",
        lines[1]
    );
    assert!(lines[1234].starts_with(&format!("root,{},revoked", serials[0])));
    // A cap that the search exceeds: the newest rows, and the header says so.
    let ctx_form = crate::form::Form::parse("subject=o%3Dbulk");
    let session_rec = f
        .console
        .sessions
        .get(session.split('=').nth(1).unwrap(), f.engine.now().secs())
        .unwrap();
    let ctx = crate::Ctx {
        engine: &f.engine,
        session: &session_rec,
        activity: None,
    };
    let capped = crate::pages::search::csv_capped(&ctx, &ctx_form, 1001);
    assert_eq!(
        header(&capped, "x-export-truncated"),
        ["1001 rows; narrow the search"]
    );
    let text = body(&capped);
    assert_eq!(text.lines().count(), 1002);
    assert!(text.lines().nth(1).unwrap().contains(&serials[1233]));
    assert!(text.lines().last().unwrap().contains(&serials[1233 - 1000]));
    let exact = crate::pages::search::csv_capped(&ctx, &ctx_form, 1234);
    assert!(
        header(&exact, "x-export-truncated").is_empty(),
        "exactly all rows"
    );
    let only = body(&f.console.handle(
        &f.engine,
        &req("GET", "/certs.csv?san=row-3.example", Some(&session), b""),
    ));
    assert_eq!(only.lines().count(), 2, "{only}");

    // The overview: 1234 bulk rows (177 revoked) and the embedded setup's own.
    let overview = body(
        &f.console
            .handle(&f.engine, &req("GET", "/", Some(&session), b"")),
    );
    let counts = f.engine.records().status_counts().unwrap();
    let revoked = counts
        .iter()
        .find(|c| c.issuer == "root" && c.status.as_str() == "revoked")
        .unwrap()
        .count;
    assert_eq!(revoked, 177);
    let issued = counts
        .iter()
        .find(|c| c.issuer == "root" && c.status.as_str() == "issued")
        .unwrap()
        .count;
    assert!(issued > 1234 - 177, "{issued}");
    assert!(
        overview.contains(&format!(
            "<td class=\"num\">{issued}</td><td class=\"num\">177</td>"
        )),
        "{overview}"
    );
}

#[test]
fn the_audit_log_filters_pages_and_shows_a_certificate_trail() {
    let f = fixture();
    let (session, csrf) = f.login();
    let serials = load(&f, 3);
    let target = &serials[1];
    let r = f.console.handle(
        &f.engine,
        &req(
            "POST",
            &format!("/certs/root/{target}/revoke"),
            Some(&session),
            format!("csrf={csrf}&reason=1&confirm=yes").as_bytes(),
        ),
    );
    assert!(r.status < 400, "{}", body(&r));
    let get = |path: &str| {
        let r = f
            .console
            .handle(&f.engine, &req("GET", path, Some(&session), b""));
        (r.status, body(&r))
    };
    // The certificate's page shows its trail and links to the log.
    let (_, page) = get(&format!("/certs/root/{target}"));
    assert!(page.contains("Audit trail"), "{page}");
    assert!(page.contains("console:admin"), "{page}");
    // The log, filtered by kind and requester: the revocation only.
    let (status, log) = get("/audit?kind=revoked&requester=console%3Aadmin");
    assert_eq!(status, 200);
    assert!(log.contains(target.as_str()), "{log}");
    assert_eq!(
        log.matches("<tr>").count(),
        2,
        "a header and one event: {log}"
    );
    let (_, other) = get("/audit?kind=revoked&requester=someone-else");
    assert!(other.contains("No event matches"), "{other}");
    // The whole log pages with cursors (the setup wrote events too).
    let (_, all) = get("/audit");
    assert!(
        all.contains("aria-current=\"page\">Audit log"),
        "the menu marks the page"
    );
    let (_, bad) = get("/audit?serial=nothex");
    assert!(bad.contains("is not a serial number"), "{bad}");
    assert_eq!(get("/audit?from=2026-13-01").0, 400);
}
