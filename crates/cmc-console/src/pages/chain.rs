//! One certificate's chain: the issuer certificates up to the root (the
//! key generation of its CA that signed it, found by its
//! authorityKeyIdentifier), shown with links, and downloaded with the
//! certificate as PEM (`SERIAL.chain.pem`) or as a PKCS#7 certs-only
//! SignedData, DER (`SERIAL.chain.p7c`, RFC 5272 §4.1).

use cmc_ca::LoadedCa;
use cmc_ca::types::CertRecord;
use der::{Decode as _, EncodePem as _};
use maud::{Markup, html};
use x509_cert::Certificate;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;

use super::{not_found, time};
use crate::{Ctx, Response};

/// What a chain download is: PEM or PKCS#7 DER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChainFile {
    Pem,
    P7c,
}

/// `SERIAL.chain.pem` or `SERIAL.chain.p7c`: the serial and the kind.
pub(crate) fn download_name(file: &str) -> Option<(&str, ChainFile)> {
    if let Some(serial) = file.strip_suffix(".chain.pem") {
        return Some((serial, ChainFile::Pem));
    }
    file.strip_suffix(".chain.p7c")
        .map(|serial| (serial, ChainFile::P7c))
}

/// The authorityKeyIdentifier keyIdentifier of `cert`, if it has one.
fn aki(cert: &Certificate) -> Option<Vec<u8>> {
    let (_, ext) = cert
        .tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>()
        .ok()??;
    ext.key_identifier.map(|k| k.as_bytes().to_vec())
}

/// The issuer certificates of `cert_der` (issued by CA `ca`), DER, from
/// its issuer up to the root; `None` when the key generation that signed
/// it is not loaded (an expired retired one) or the certificate does not
/// decode.
fn issuers(ctx: &Ctx<'_>, ca: &str, cert_der: &[u8]) -> Option<Vec<Vec<u8>>> {
    let cert = Certificate::from_der(cert_der).ok()?;
    let loaded = ctx.engine.ca(ca).ok()?;
    let signer = match aki(&cert) {
        Some(id) => loaded.generation_by_key_id(&id)?,
        // No authorityKeyIdentifier: the active generation, if its name is
        // the issuer's.
        None => Some(loaded.as_ref()).filter(|g| g.subject() == cert.tbs_certificate().issuer())?,
    };
    let mut out = vec![signer.certificate_der().to_vec()];
    out.extend(signer.chain_der().iter().cloned());
    Some(out)
}

/// The loaded CA (any generation) whose certificate is `der`.
fn ca_of(ctx: &Ctx<'_>, der: &[u8]) -> Option<(std::sync::Arc<LoadedCa>, u32)> {
    ctx.engine.cas().into_iter().find_map(|ca| {
        let generation = std::iter::once(ca.as_ref())
            .chain(ca.retired().iter().map(AsRef::as_ref))
            .find(|g| g.certificate_der() == der)
            .map(LoadedCa::generation)?;
        Some((ca, generation))
    })
}

/// The chain section of the certificate page.
pub(crate) fn section(ctx: &Ctx<'_>, record: &CertRecord, base: &str) -> Markup {
    let Some(issued) = record.certificate() else {
        return html! {};
    };
    let chain = issuers(ctx, &record.issuer, &issued.cert_der);
    html! {
        section aria-labelledby="chain-heading" {
            h2 id="chain-heading" { "Chain" }
            @match &chain {
                None => p {
                    "The key generation of CA " (record.issuer) " that signed this certificate is "
                    "not loaded (its CA certificate has expired): no chain to show."
                },
                Some(chain) => {
                    ol.chain {
                        li { "This certificate: " (issued.subject) }
                        @for der in chain {
                            @let cert = Certificate::from_der(der).ok();
                            li {
                                @match &cert {
                                    Some(c) => {
                                        @let tbs = c.tbs_certificate();
                                        (tbs.subject().to_string())
                                        @if tbs.subject() == tbs.issuer() { " (root, self-signed)" }
                                        ", valid until "
                                        (time(cmc_ca::UnixTime::from_secs(
                                            i64::try_from(tbs.validity().not_after.to_unix_duration().as_secs()).unwrap_or(i64::MAX))))
                                    }
                                    None => "a certificate that does not decode",
                                }
                                @if let Some((ca, generation)) = ca_of(ctx, der) {
                                    " — CA "
                                    a href={ "/certs?ca=" (ca.name()) } { (ca.name()) }
                                    " (key generation " (generation) ")"
                                    @if let (Some(parent), Some(serial)) = (ca.parent(), cert.as_ref().and_then(serial_hex)) {
                                        ", "
                                        a href={ "/certs/" (parent) "/" (serial) } {
                                            "its record at " (parent)
                                        }
                                    }
                                }
                            }
                        }
                    }
                    p.downloads {
                        a href={ (base) ".chain.pem" } download { "Download chain as PEM" }
                        " "
                        a href={ (base) ".chain.p7c" } download { "Download chain as PKCS#7 (DER)" }
                        " "
                        span.hint { "(" (chain.len() + 1) " in all, this one first)" }
                    }
                }
            }
        }
    }
}

/// The serial of `cert` as the console writes serials.
fn serial_hex(cert: &Certificate) -> Option<String> {
    cmc_ca::Serial::from_be_bytes(cert.tbs_certificate().serial_number().as_bytes())
        .ok()
        .map(|s| s.to_hex())
}

/// A chain download: the certificate followed by its issuers up to the root.
pub(crate) fn download(
    ctx: &Ctx<'_>,
    record: &CertRecord,
    serial_hex: &str,
    kind: ChainFile,
) -> Response {
    let Some(issued) = record.certificate() else {
        return not_found(ctx, "This serial has no certificate.");
    };
    let Some(chain) = issuers(ctx, &record.issuer, &issued.cert_der) else {
        return not_found(
            ctx,
            "The key generation that signed this certificate is not loaded.",
        );
    };
    let certs: Result<Vec<Certificate>, der::Error> = std::iter::once(&issued.cert_der)
        .chain(chain.iter())
        .map(|d| Certificate::from_der(d))
        .collect();
    let Ok(certs) = certs else {
        return not_found(ctx, "A certificate of the chain does not decode.");
    };
    let name = format!("{}-{serial_hex}-chain", record.issuer);
    match kind {
        ChainFile::Pem => {
            let mut out = String::new();
            for c in &certs {
                match c.to_pem(der::pem::LineEnding::LF) {
                    Ok(p) => out.push_str(&p),
                    Err(_) => return not_found(ctx, "A certificate of the chain does not encode."),
                }
            }
            Response::file(
                "application/x-pem-file",
                &format!("{name}.pem"),
                out.into_bytes(),
            )
        }
        ChainFile::P7c => match cmc_codec::certs_only_response(&certs) {
            Ok(der) => Response::file("application/pkcs7-mime", &format!("{name}.p7c"), der),
            Err(e) => {
                tracing::error!(error = %e, "console: encoding a certs-only chain failed");
                not_found(ctx, "The chain does not encode.")
            }
        },
    }
}
