//! The admin requests of the swedenconnect ca-cmc client (the Java
//! BouncyCastle client of the Swedish eID CAs; data model in its
//! `se.swedenconnect.ca.cmc.model.admin` package): a regInfo control whose
//! value is the JSON of an `AdminCMCData`, answered in a responseInfo
//! control holding the JSON of another.
//!
//! ```text
//! AdminCMCData      { "adminRequestType": TYPE, "data": STRING | null }
//!   TYPE            caInfo | staticCaInfo | listCerts | allCertSerials
//! ListCerts         { "notRevoked": bool, "sortBy": "serialNumber" | "issueDate" | null,
//!                     "pageSize": int, "pageIndex": int, "descending": bool }
//! CAInformation     { "certificateCount": int, "validCertificateCount": int,
//!                     "certificateChain": [base64 DER, CA first], "ocspCertificate": base64 | null,
//!                     "crlDpURLs": [url], "ocspResponserUrl": url | null, "caAlgorithm": URI }
//! StaticCAInformation  CAInformation without the two counts
//! CertificateData   { "certificate": base64 DER, "revoked": bool,
//!                     "revocationReason": int, "revocationDate": ms since 1970 (0 unless revoked) }
//! allCertSerials    [ lower-case hex without leading zeros ]
//! ```
//!
//! `data` is itself a JSON text inside the JSON (absent in caInfo,
//! staticCaInfo and allCertSerials requests). Byte strings are base64 with
//! padding (what Jackson writes for `byte[]`); `caAlgorithm` is the XML
//! Signature URI of the CA's signature algorithm.
//!
//! Only an RA or an agent is answered; anyone else's admin request fails
//! with badRequest (the engine's notAuthorized), a malformed one with
//! badRequest, each with a status naming its regInfo control; so is every
//! admin request of a PKIData that holds more than one. A success
//! status names the regInfo control, as the swedenconnect CA does. A page
//! holds at most [`cmc_ca::MAX_PAGE_SIZE`] certificates (a larger pageSize,
//! zero or a negative index is badRequest), and `allCertSerials` answers
//! only while the CA has at most [`cmc_ca::MAX_SERIALS`] certificates
//! (noSupport past that: page with listCerts).
//!
//! A regInfo that is not such JSON (`"pkcs10"`, `"crmf"`, a profile name)
//! is not an admin request and is echoed as responseInfo as before; an
//! admin request is never echoed.

use base64ct::{Base64, Encoding};
use const_oid::db::{rfc5912, rfc8410};
use serde::{Deserialize, Serialize};

use super::*;

/// The admin request types (`AdminRequestType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AdminRequestType {
    /// CA information with certificate counts (`CAInformation`).
    #[serde(rename = "caInfo")]
    CaInfo,
    /// CA information without counts (`StaticCAInformation`).
    #[serde(rename = "staticCaInfo")]
    StaticCaInfo,
    /// A page of certificates (`ListCerts` in, `CertificateData` list out).
    #[serde(rename = "listCerts")]
    ListCerts,
    /// Every serial (a list of hex strings).
    #[serde(rename = "allCertSerials")]
    AllCertSerials,
}

/// `AdminCMCData`: the regInfo of an admin request and the responseInfo of
/// its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdminCmcData {
    /// What is asked.
    pub(crate) admin_request_type: AdminRequestType,
    /// The request's or answer's own JSON, as a string.
    #[serde(default)]
    pub(crate) data: Option<String>,
}

/// The sort orders of `ListCerts` (`SortBy` of the swedenconnect CA
/// engine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SortBy {
    /// By serial number.
    #[serde(rename = "serialNumber")]
    SerialNumber,
    /// By issue time.
    #[serde(rename = "issueDate")]
    IssueDate,
}

/// `ListCerts`: which page of certificates. Missing fields take Java's
/// defaults (false, 0, no sort: the order they were stored in).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ListCerts {
    /// Only the certificates that are not revoked and valid now.
    pub(crate) not_revoked: bool,
    /// The order.
    pub(crate) sort_by: Option<SortBy>,
    /// Certificates per page.
    pub(crate) page_size: i64,
    /// The page, from 0.
    pub(crate) page_index: i64,
    /// Last first.
    pub(crate) descending: bool,
}

/// `CAInformation`, and `StaticCAInformation` without the counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CaInformation {
    /// Certificates issued (Java `int`, saturating).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(crate) certificate_count: Option<i32>,
    /// Of those, not revoked and valid now.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(crate) valid_certificate_count: Option<i32>,
    /// The CA certificate then its issuers, base64 DER.
    pub(crate) certificate_chain: Vec<String>,
    /// The delegated OCSP responder certificate, base64 DER.
    pub(crate) ocsp_certificate: Option<String>,
    /// CRL distribution points.
    #[serde(rename = "crlDpURLs")]
    pub(crate) crl_dp_urls: Vec<String>,
    /// The OCSP responder URL (the Java model's spelling).
    pub(crate) ocsp_responser_url: Option<String>,
    /// The XML Signature URI of the CA's signature algorithm.
    pub(crate) ca_algorithm: Option<String>,
}

/// `CertificateData`: one certificate of a listCerts answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertificateData {
    /// The certificate, base64 DER.
    pub(crate) certificate: String,
    /// Revoked or on hold.
    pub(crate) revoked: bool,
    /// The CRLReason code (0 unless revoked).
    pub(crate) revocation_reason: i32,
    /// When it was revoked, in milliseconds since 1970 (0 unless revoked).
    pub(crate) revocation_date: i64,
}

/// The admin request in a regInfo value, if it is one: a JSON object with
/// an `adminRequestType` member (its value may still be wrong).
fn admin_json(value: &[u8]) -> Option<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_slice(value).ok()?;
    json.get("adminRequestType").is_some().then_some(json)
}

/// Whether a regInfo value is an admin request (answered, never echoed).
pub(super) fn is_admin(value: &[u8]) -> bool {
    admin_json(value).is_some()
}

/// The admin requests among the regInfo controls of `pki_data`.
fn admin_requests(pki_data: &PkiData) -> Vec<(BodyPartId, serde_json::Value)> {
    pki_data
        .controls_of::<RegInfo>()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(id, reg)| admin_json(reg.0.as_bytes()).map(|json| (id, json)))
        .collect()
}

/// Fails every admin request of a PKIData that cannot be answered (a
/// nested or unsigned request, whose signer is no RA or agent).
pub(super) fn refuse_admin(pki_data: &PkiData, outcome: &mut PartResults) {
    for (id, _) in admin_requests(pki_data) {
        outcome.failed.push((
            Failure::failed(
                CmcFailInfo::BadRequest,
                "admin requests are answered only to an RA or agent signing the outer request",
            ),
            id,
        ));
    }
}

impl Cmc<'_> {
    /// Every admin request of a signed PKIData: answered in a responseInfo
    /// control for an RA or agent, else refused, each with its own status.
    pub(super) fn answer_admin(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        pki_data: &PkiData,
        outcome: &mut PartResults,
    ) {
        let requests = admin_requests(pki_data);
        // One answer per message: the bounds on a page or the serials
        // would mean nothing if one PKIData could ask sixty-four times.
        if requests.len() > 1 {
            let ids: BTreeSet<BodyPartId> = requests.iter().map(|(id, _)| *id).collect();
            for id in ids {
                outcome.failed.push((
                    Failure::failed(CmcFailInfo::BadRequest, "one admin request per PKIData"),
                    id,
                ));
            }
            return;
        }
        for (id, json) in requests {
            let answer = serde_json::from_value::<AdminCmcData>(json)
                .map_err(|e| {
                    Failure::failed(
                        CmcFailInfo::BadRequest,
                        format!("not an admin request (AdminCMCData): {e}"),
                    )
                })
                .and_then(|request| self.admin_answer(ca, signer, &request))
                .and_then(|answer| {
                    let json = serde_json::to_vec(&answer).map_err(|e| internal(ca, &e))?;
                    OctetString::new(json).map_err(|e| internal(ca, &e))
                });
            match answer {
                Ok(info) => {
                    outcome.succeeded.push(id);
                    outcome.response_info.push(info);
                }
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
    }

    /// The answer to one admin request.
    fn admin_answer(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        request: &AdminCmcData,
    ) -> Result<AdminCmcData, Failure> {
        let name = ca.name();
        let data = match request.admin_request_type {
            AdminRequestType::CaInfo | AdminRequestType::StaticCaInfo => {
                let description = self.engine.describe_ca(name, signer)?;
                let mut info = ca_information(&description);
                if request.admin_request_type == AdminRequestType::CaInfo {
                    let counts = self.engine.count_certificates(name, signer)?;
                    info.certificate_count = Some(java_int(counts.issued));
                    info.valid_certificate_count = Some(java_int(counts.valid));
                }
                serde_json::to_string(&info)
            }
            AdminRequestType::ListCerts => {
                let listing = listing(request.data.as_deref())?;
                let page = self.engine.list_certificates(name, signer, &listing)?;
                serde_json::to_string(&page.iter().map(certificate_data).collect::<Vec<_>>())
            }
            AdminRequestType::AllCertSerials => {
                let serials = self.engine.certificate_serials(name, signer)?;
                serde_json::to_string(&serials.iter().map(java_hex).collect::<Vec<_>>())
            }
        }
        .map_err(|e| internal(ca, &e))?;
        Ok(AdminCmcData {
            admin_request_type: request.admin_request_type,
            data: Some(data),
        })
    }
}

/// A failure of our own encoding (logged, answered as internalCAError).
fn internal(ca: &LoadedCa, e: &dyn std::fmt::Display) -> Failure {
    tracing::error!(ca = ca.name(), error = %e, "cannot encode an admin answer");
    Failure::failed(CmcFailInfo::InternalCaError, "internal CA error")
}

/// The engine's listing for a `ListCerts` (badRequest when it does not
/// parse, or for a negative index or a page size outside 1 to
/// [`cmc_ca::MAX_PAGE_SIZE`]).
fn listing(data: Option<&str>) -> Result<cmc_ca::CertListing, Failure> {
    let bad = |text: String| Failure::failed(CmcFailInfo::BadRequest, text);
    let list: ListCerts = serde_json::from_str(data.unwrap_or_default())
        .map_err(|e| bad(format!("listCerts data is not a ListCerts: {e}")))?;
    let max = cmc_ca::MAX_PAGE_SIZE;
    let page_size = u32::try_from(list.page_size)
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            bad(format!(
                "pageSize must be 1 to {max}, not {}",
                list.page_size
            ))
        })?;
    let page_index = u32::try_from(list.page_index)
        .map_err(|_| bad(format!("pageIndex {} is not a page", list.page_index)))?;
    Ok(cmc_ca::CertListing {
        valid_only: list.not_revoked,
        order: match list.sort_by {
            None => cmc_ca::CertOrder::Stored,
            Some(SortBy::IssueDate) => cmc_ca::CertOrder::Issued,
            Some(SortBy::SerialNumber) => cmc_ca::CertOrder::Serial,
        },
        descending: list.descending,
        page_index,
        page_size,
    })
}

/// A CA description as `StaticCAInformation` (no counts).
fn ca_information(d: &cmc_ca::CaDescription) -> CaInformation {
    CaInformation {
        certificate_count: None,
        valid_certificate_count: None,
        certificate_chain: d.chain.iter().map(|c| Base64::encode_string(c)).collect(),
        ocsp_certificate: d.ocsp_certificate.as_deref().map(Base64::encode_string),
        crl_dp_urls: d.crl_urls.clone(),
        ocsp_responser_url: d.ocsp_url.clone(),
        ca_algorithm: xml_signature_uri(&d.signature_algorithm, &d.digest_algorithm)
            .map(str::to_owned),
    }
}

/// One listed certificate as `CertificateData`.
fn certificate_data(c: &cmc_ca::ListedCert) -> CertificateData {
    CertificateData {
        certificate: Base64::encode_string(&c.cert_der),
        revoked: c.revocation.is_some(),
        revocation_reason: c.revocation.map_or(0, |r| i32::from(r.reason.code())),
        revocation_date: c
            .revocation
            .map_or(0, |r| r.revoked_at.secs().saturating_mul(1000)),
    }
}

/// A count as a Java `int` (saturating: the client cannot read more).
fn java_int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A serial as Java's `BigInteger.toString(16)`: lower-case hex without
/// leading zeros.
fn java_hex(serial: &cmc_ca::Serial) -> String {
    let hex = serial.to_hex();
    match hex.trim_start_matches('0') {
        "" => "0".to_owned(),
        digits => digits.to_owned(),
    }
}

/// The XML Signature URI (RFC 9231, and RFC 6931 before it) of a
/// signature algorithm, which is how the swedenconnect client names the
/// CA's algorithm (`caAlgorithm`); `None` for one without a URI.
pub(crate) fn xml_signature_uri(
    signature: &der::asn1::ObjectIdentifier,
    digest: &der::asn1::ObjectIdentifier,
) -> Option<&'static str> {
    Some(match *signature {
        rfc5912::ECDSA_WITH_SHA_256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        rfc5912::ECDSA_WITH_SHA_384 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        rfc5912::ECDSA_WITH_SHA_512 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        rfc5912::SHA_384_WITH_RSA_ENCRYPTION => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        rfc5912::ID_RSASSA_PSS => match *digest {
            rfc5912::ID_SHA_256 => "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
            rfc5912::ID_SHA_384 => "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1",
            rfc5912::ID_SHA_512 => "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1",
            _ => return None,
        },
        rfc8410::ID_ED_25519 => "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_written_as_big_integers_in_hex() {
        let s = |b: &[u8]| java_hex(&cmc_ca::Serial::from_be_bytes(b).unwrap());
        assert_eq!(s(&[0x0a]), "a");
        assert_eq!(s(&[0x00, 0x01, 0x00]), "100");
        assert_eq!(s(&[0x7f, 0xff]), "7fff");
        assert_eq!(s(&[0x80, 0x01]), "8001");
    }

    #[test]
    fn only_json_with_an_admin_type_is_an_admin_request() {
        assert!(!is_admin(b"pkcs10"));
        assert!(!is_admin(b"crmf"));
        assert!(!is_admin(b"{\"profile\":\"tls\"}"));
        assert!(!is_admin(b"[1,2]"));
        assert!(is_admin(b"{\"adminRequestType\":\"caInfo\",\"data\":null}"));
        // Still an admin request (and refused as one), not echoed.
        assert!(is_admin(b"{\"adminRequestType\":\"shutdown\"}"));
    }

    #[test]
    fn list_certs_takes_java_defaults_and_bounds_the_page() {
        let l = listing(Some("{\"pageSize\":10}")).unwrap();
        assert_eq!(
            (
                l.valid_only,
                l.order,
                l.descending,
                l.page_index,
                l.page_size
            ),
            (false, cmc_ca::CertOrder::Stored, false, 0, 10)
        );
        let l = listing(Some(
            "{\"notRevoked\":true,\"sortBy\":\"serialNumber\",\"pageSize\":3,\"pageIndex\":2,\"descending\":true}",
        ))
        .unwrap();
        assert_eq!(
            (
                l.valid_only,
                l.order,
                l.descending,
                l.page_index,
                l.page_size
            ),
            (true, cmc_ca::CertOrder::Serial, true, 2, 3)
        );
        for bad in [
            None,
            Some("{}"),
            Some("{\"pageSize\":1001}"),
            Some("{\"pageSize\":-1}"),
            Some("{\"pageSize\":5,\"pageIndex\":-1}"),
            Some("{\"pageSize\":5,\"sortBy\":\"subject\"}"),
            Some("[]"),
        ] {
            let failure = listing(bad).unwrap_err();
            assert_eq!(failure.fail_info, CmcFailInfo::BadRequest, "{bad:?}");
        }
    }

    #[test]
    fn signature_algorithms_have_their_xml_uris() {
        assert_eq!(
            xml_signature_uri(&rfc5912::ECDSA_WITH_SHA_256, &rfc5912::ID_SHA_256),
            Some("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256")
        );
        assert_eq!(
            xml_signature_uri(&rfc5912::ID_RSASSA_PSS, &rfc5912::ID_SHA_384),
            Some("http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1")
        );
        assert_eq!(
            xml_signature_uri(&rfc5912::SHA_1_WITH_RSA_ENCRYPTION, &rfc5912::ID_SHA_1),
            None
        );
    }
}
