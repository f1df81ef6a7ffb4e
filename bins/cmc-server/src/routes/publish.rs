//! The CA's publication points: `GET /ca/{ca}.pem` (the CA certificate and
//! its chain), `GET /ca/{ca}.der` (the CA certificate) and
//! `GET /crl/{ca}.crl` (the current CRL, cacheable until its nextUpdate).

use std::time::SystemTime;

use hyper::header;

use super::reply::{content, internal_error, not_found, set_date, set_header};
use super::{App, Reply};

impl App {
    /// `/ca/{file}`: `{ca}.pem` or `{ca}.der`.
    pub(super) fn ca_cert(&self, file: &str) -> Reply {
        let (name, pem) = if let Some(name) = file.strip_suffix(".pem") {
            (name, true)
        } else if let Some(name) = file.strip_suffix(".der") {
            (name, false)
        } else {
            return not_found();
        };
        let Ok(ca) = self.engine.ca(name) else {
            return not_found();
        };
        if !pem {
            return content(ca.certificate_der().to_vec(), "application/pkix-cert");
        }
        let mut out = String::new();
        for der in
            std::iter::once(ca.certificate_der()).chain(ca.chain_der().iter().map(Vec::as_slice))
        {
            match der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der) {
                Ok(block) => out.push_str(&block),
                Err(e) => {
                    tracing::error!(ca = name, error = %e, "PEM-encoding a CA certificate failed");
                    return internal_error();
                }
            }
        }
        content(out, "application/x-pem-file")
    }

    /// `/crl/{file}`: `{ca}.crl`, produced (or renewed) by the engine.
    pub(super) async fn crl(&self, file: &str) -> Reply {
        let Some(name) = file.strip_suffix(".crl") else {
            return not_found();
        };
        if self.engine.ca(name).is_err() {
            return not_found();
        }
        let ca = name.to_owned();
        let result = self
            .on_engine("CRL", move |engine| engine.current_crl(&ca))
            .await;
        let record = match result {
            Ok(Ok(record)) => record,
            Ok(Err(e)) => {
                tracing::error!(ca = name, error = %e, "producing the CRL failed");
                return internal_error();
            }
            Err(unserved) => return unserved.reply(),
        };
        let max_age = record.next_update.0.saturating_sub(unix_now()).max(0);
        let mut reply = content(record.der, "application/pkix-crl");
        let headers = reply.headers_mut();
        set_header(
            headers,
            header::CACHE_CONTROL,
            &format!("max-age={max_age}"),
        );
        set_date(headers, header::LAST_MODIFIED, record.this_update.0);
        set_date(headers, header::EXPIRES, record.next_update.0);
        reply
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
