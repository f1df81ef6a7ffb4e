//! What an RA or an agent may read of a CA over a front door: the CA's
//! description (chain, OCSP and CRL locations, signature algorithm), how
//! many certificates it has issued, one sorted page of them, and their
//! serials. Every other principal is refused (notAuthorized), before
//! anything is read.
//!
//! What one request may read is bounded: a page holds at most
//! [`MAX_PAGE_SIZE`] certificates, and the serials are answered only while
//! the CA has at most [`MAX_SERIALS`] certificates (past that, page through
//! [`Engine::list_certificates`]).

use cmc_store::{CertCounts, CertOrder, CertRange, ListedCert, Serial};
use const_oid::ObjectIdentifier;

use crate::engine::Engine;
use crate::error::Error;
use crate::identify::{Principal, PrincipalKind};
use crate::refusal::{Reason, Refused};

/// The largest page [`Engine::list_certificates`] returns.
pub const MAX_PAGE_SIZE: u32 = CertRange::MAX_LIMIT;

/// The most serials [`Engine::certificate_serials`] answers with.
pub const MAX_SERIALS: u32 = 100_000;

/// A CA as its clients need to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaDescription {
    /// The CA certificate, then its issuers up to the root, DER.
    pub chain: Vec<Vec<u8>>,
    /// The delegated OCSP responder's current certificate, DER, when the
    /// CA has one (`[ca.NAME.ocsp] key`).
    pub ocsp_certificate: Option<Vec<u8>>,
    /// The CRL distribution points put into issued certificates.
    pub crl_urls: Vec<String>,
    /// The OCSP responder put into issued certificates' AIA.
    pub ocsp_url: Option<String>,
    /// The algorithm the CA signs certificates with.
    pub signature_algorithm: ObjectIdentifier,
    /// The digest that signature uses (for RSASSA-PSS, whose OID does not
    /// say).
    pub digest_algorithm: ObjectIdentifier,
}

/// Which page of a CA's certificates to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CertListing {
    /// Only the certificates valid now: not revoked nor on hold, and
    /// within their validity at the engine clock's time.
    pub valid_only: bool,
    /// The order.
    pub order: CertOrder,
    /// Last first.
    pub descending: bool,
    /// The page, from 0.
    pub page_index: u32,
    /// Certificates per page, 1 to [`MAX_PAGE_SIZE`].
    pub page_size: u32,
}

impl Engine {
    /// Refuses every principal but an RA or an agent of `ca` (the signer
    /// was already resolved for this CA: active, granted it).
    fn may_read_records(&self, ca: &str, principal: &Principal, what: &str) -> Result<(), Refused> {
        match principal.kind() {
            PrincipalKind::Ra | PrincipalKind::Agent => {
                tracing::info!(
                    ca,
                    requester = principal.requester(),
                    what,
                    "CA records read"
                );
                Ok(())
            }
            PrincipalKind::Client
            | PrincipalKind::Holder
            | PrincipalKind::SecretOwner
            | PrincipalKind::Anonymous => {
                tracing::info!(
                    ca,
                    requester = principal.requester(),
                    what,
                    "CA records refused: not an RA or agent"
                );
                Err(Refused::new(
                    Reason::NotAuthorized,
                    "only an RA or an agent may read the CA's records",
                ))
            }
        }
    }

    /// CA `ca` as its clients need to know it (for an RA or agent).
    ///
    /// # Errors
    /// notAuthorized for any other principal; internal for an unknown CA
    /// or a delegated OCSP responder certificate that cannot be renewed.
    pub fn describe_ca(&self, ca: &str, principal: &Principal) -> Result<CaDescription, Refused> {
        self.may_read_records(ca, principal, "description")?;
        let refused = |e: Error| Refused::from_error(&e, ca);
        let loaded = self.ca(ca).map_err(refused)?;
        let settings = self.config().ca_settings(ca);
        let mut chain = vec![loaded.certificate_der().to_vec()];
        chain.extend(loaded.chain_der().iter().cloned());
        Ok(CaDescription {
            chain,
            ocsp_certificate: self.ocsp_responder_certificate(ca).map_err(refused)?,
            crl_urls: settings.crl_url.into_iter().collect(),
            ocsp_url: settings.ocsp_url,
            signature_algorithm: loaded.key().signature_algorithm().oid,
            digest_algorithm: loaded.key().hash().oid(),
        })
    }

    /// How many certificates `ca` has issued, and how many are valid now
    /// (for an RA or agent).
    ///
    /// # Errors
    /// notAuthorized for any other principal; internal for store failures.
    pub fn count_certificates(
        &self,
        ca: &str,
        principal: &Principal,
    ) -> Result<CertCounts, Refused> {
        self.may_read_records(ca, principal, "counts")?;
        self.store()
            .count_issued(ca, self.now())
            .map_err(|e| Refused::from_error(&e.into(), ca))
    }

    /// One page of `ca`'s issued certificates (for an RA or agent). A page
    /// past the end is empty.
    ///
    /// # Errors
    /// notAuthorized for any other principal; badRequest for a page size
    /// of 0 or above [`MAX_PAGE_SIZE`]; internal for store failures.
    pub fn list_certificates(
        &self,
        ca: &str,
        principal: &Principal,
        listing: &CertListing,
    ) -> Result<Vec<ListedCert>, Refused> {
        self.may_read_records(ca, principal, "listing")?;
        if listing.page_size == 0 || listing.page_size > MAX_PAGE_SIZE {
            return Err(Refused::new(
                Reason::BadRequest,
                format!(
                    "the page size must be 1 to {MAX_PAGE_SIZE}, not {}",
                    listing.page_size
                ),
            ));
        }
        let range = CertRange {
            issuer: ca.to_owned(),
            valid_at: listing.valid_only.then(|| self.now()),
            order: listing.order,
            descending: listing.descending,
            offset: u64::from(listing.page_index) * u64::from(listing.page_size),
            limit: listing.page_size,
        };
        self.store()
            .issued_range(&range)
            .map_err(|e| Refused::from_error(&e.into(), ca))
    }

    /// The serials of every certificate `ca` has issued, in numeric order
    /// (for an RA or agent), while there are at most [`MAX_SERIALS`].
    ///
    /// # Errors
    /// notAuthorized for any other principal; notSupported when the CA
    /// has more certificates than that; internal for store failures.
    pub fn certificate_serials(
        &self,
        ca: &str,
        principal: &Principal,
    ) -> Result<Vec<Serial>, Refused> {
        self.may_read_records(ca, principal, "serials")?;
        let serials = self
            .store()
            .issued_serials(ca, MAX_SERIALS + 1)
            .map_err(|e| Refused::from_error(&e.into(), ca))?;
        if serials.len() > MAX_SERIALS as usize {
            return Err(Refused::new(
                Reason::NotSupported,
                format!(
                    "the CA has more than {MAX_SERIALS} certificates: list them a page at a time"
                ),
            ));
        }
        Ok(serials)
    }
}
