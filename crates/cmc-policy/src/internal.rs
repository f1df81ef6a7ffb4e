//! The engine's own profiles: CA certificates, client credentials and
//! delegated OCSP responder certificates.
//!
//! They are ordinary [`Profile`]s, applied by the same
//! [`prepare`](crate::prepare) and checked by the same lint as every request,
//! but they set what no request and no profiles file can: basicConstraints
//! cA=TRUE with a path length and keyCertSign/cRLSign (CA), clientAuth and
//! id-kp-cmcRA (client credential), id-kp-OCSPSigning and
//! id-pkix-ocsp-nocheck (OCSP responder). Nothing makes one but the
//! constructors here: a profiles file has no field for the
//! [`CertificateKind`], [`ProfileSet::from_toml`](crate::ProfileSet::from_toml)
//! refuses their names, and a [`ProfileSet`](crate::ProfileSet) never holds
//! one, so a request naming one finds no profile.

use std::collections::BTreeSet;

use const_oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_OCSP_SIGNING};

use crate::keys::Curve;
use crate::name_rules::NameRules;
use crate::names::{ID_KP_CMC_RA, KeyUsageBit};
use crate::profile::{OnIssuerExpiry, OnRefusedExtension, Profile, SkiMethod};

/// The profile CA certificates (intermediates and roots) are issued and
/// recorded under.
pub const CA_PROFILE_NAME: &str = "ca";
/// The profile client credentials are issued and recorded under.
pub const CLIENT_CREDENTIAL_PROFILE_NAME: &str = "cmc-client-credential";
/// The profile delegated OCSP responder certificates are issued and recorded
/// under.
pub const OCSP_RESPONDER_PROFILE_NAME: &str = "ocsp-responder";

/// Longest validity of a CA certificate or a client credential, in days
/// (100 years; the issuing CA's own notAfter cuts them first in practice).
pub const MAX_INTERNAL_VALIDITY_DAYS: u32 = 36_525;
/// Longest validity of a delegated OCSP responder certificate, in days: the
/// engine's ceiling of 366 days plus its backdating.
pub const MAX_OCSP_RESPONDER_VALIDITY_DAYS: u32 = 367;
/// How far a delegated OCSP responder certificate may start before its
/// issuance, so that a client whose clock is a little behind accepts it.
pub const OCSP_RESPONDER_BACKDATE_SECONDS: u32 = 60;

/// The RSA moduli the engine's own certificates accept (CA keys, including
/// existing HSM keys, and client keys).
const INTERNAL_RSA_SIZES: [u32; 5] = [2048, 3072, 4096, 6144, 8192];

/// What a profile's certificates are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateKind {
    /// An end-entity certificate for a request: every profile of a profiles
    /// file and [`Profile::builtin`]. Never a CA, never an OCSP responder
    /// exempt from revocation checking.
    EndEntity,
    /// A CA certificate ([`Profile::ca_certificate`]): basicConstraints
    /// cA=TRUE (critical) with this pathLenConstraint, keyCertSign and
    /// cRLSign (RFC 5280 §4.2.1.9, §4.2.1.3).
    Ca {
        /// The pathLenConstraint, if any.
        path_len: Option<u8>,
    },
    /// A credential for one of the engine's clients
    /// ([`Profile::client_credential`]): clientAuth, and id-kp-cmcRA for a
    /// registration authority.
    ClientCredential,
    /// A delegated OCSP responder certificate ([`Profile::ocsp_responder`]):
    /// id-kp-OCSPSigning and id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2).
    OcspResponder,
}

impl CertificateKind {
    /// Whether certificates of this kind are CA certificates.
    #[must_use]
    pub const fn is_ca(self) -> bool {
        matches!(self, Self::Ca { .. })
    }

    /// Whether this is one of the engine's own kinds (not a request's).
    #[must_use]
    pub const fn is_internal(self) -> bool {
        !matches!(self, Self::EndEntity)
    }
}

/// What the built-in profile called `name` issues, if the name is one of
/// theirs.
pub(crate) fn reserved_profile_name(name: &str) -> Option<&'static str> {
    match name {
        CA_PROFILE_NAME => Some("CA certificate"),
        CLIENT_CREDENTIAL_PROFILE_NAME => Some("client credential"),
        OCSP_RESPONDER_PROFILE_NAME => Some("OCSP responder certificate"),
        _ => None,
    }
}

impl Profile {
    /// The profile of CA certificates, named [`CA_PROFILE_NAME`]:
    /// basicConstraints cA=TRUE (critical) with `path_len`; keyUsage
    /// (critical) digitalSignature, keyCertSign and cRLSign (the CA key also
    /// signs CMC responses); subjectKeyIdentifier (SHA-1) and
    /// authorityKeyIdentifier (a root's own); the subject exactly as
    /// requested; the requested validity up to
    /// [`MAX_INTERNAL_VALIDITY_DAYS`]; no cRLDistributionPoints or
    /// authorityInfoAccess.
    #[must_use]
    pub fn ca_certificate(path_len: Option<u8>) -> Self {
        Self::internal(
            CA_PROFILE_NAME,
            CertificateKind::Ca { path_len },
            MAX_INTERNAL_VALIDITY_DAYS,
            0,
            vec![
                KeyUsageBit::DigitalSignature,
                KeyUsageBit::KeyCertSign,
                KeyUsageBit::CrlSign,
            ],
            Vec::new(),
        )
    }

    /// The profile of client credentials, named
    /// [`CLIENT_CREDENTIAL_PROFILE_NAME`]: basicConstraints cA=FALSE
    /// (critical), keyUsage (critical) digitalSignature, extendedKeyUsage
    /// clientAuth plus id-kp-cmcRA when `registration_authority`, the key
    /// identifiers, the subject exactly as requested and the requested
    /// validity up to [`MAX_INTERNAL_VALIDITY_DAYS`].
    #[must_use]
    pub fn client_credential(registration_authority: bool) -> Self {
        let mut usages = vec![ID_KP_CLIENT_AUTH];
        if registration_authority {
            usages.push(ID_KP_CMC_RA);
        }
        Self::internal(
            CLIENT_CREDENTIAL_PROFILE_NAME,
            CertificateKind::ClientCredential,
            MAX_INTERNAL_VALIDITY_DAYS,
            0,
            vec![KeyUsageBit::DigitalSignature],
            usages,
        )
    }

    /// The profile of delegated OCSP responder certificates, named
    /// [`OCSP_RESPONDER_PROFILE_NAME`]: basicConstraints cA=FALSE (critical),
    /// keyUsage (critical) digitalSignature, extendedKeyUsage
    /// id-kp-OCSPSigning, id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2), the key
    /// identifiers, the subject exactly as requested and the requested
    /// validity up to [`MAX_OCSP_RESPONDER_VALIDITY_DAYS`], starting at most
    /// [`OCSP_RESPONDER_BACKDATE_SECONDS`] before issuance.
    #[must_use]
    pub fn ocsp_responder() -> Self {
        Self::internal(
            OCSP_RESPONDER_PROFILE_NAME,
            CertificateKind::OcspResponder,
            MAX_OCSP_RESPONDER_VALIDITY_DAYS,
            OCSP_RESPONDER_BACKDATE_SECONDS,
            vec![KeyUsageBit::DigitalSignature],
            vec![ID_KP_OCSP_SIGNING],
        )
    }

    fn internal(
        name: &str,
        kind: CertificateKind,
        validity_days: u32,
        backdate_seconds: u32,
        key_usage: Vec<KeyUsageBit>,
        extended_key_usage: Vec<const_oid::ObjectIdentifier>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            validity_days,
            backdate_seconds,
            // The engine states the validity it wants; the profile caps it.
            honour_requested_validity: true,
            allow_key_reuse: false,
            require_approval: false,
            // The engine's own certificates are in use when it makes them.
            require_acceptance: false,
            // The engine makes its own certificates' keys where it makes
            // them at all; no subject asks it to.
            server_key_generation: false,
            // The engine asks for no extension: anything else is an error.
            on_refused_extension: OnRefusedExtension::Refuse,
            on_issuer_expiry: OnIssuerExpiry::Clamp,
            basic_constraints: true,
            key_usage,
            extended_key_usage,
            certificate_policies: Vec::new(),
            ski_method: SkiMethod::Sha1,
            ec_curves: Curve::ALL.into_iter().collect(),
            rsa_sizes: INTERNAL_RSA_SIZES.into_iter().collect(),
            subject_from_request: Vec::new(),
            subject_fixed: Vec::new(),
            require_cn: false,
            san_allowed: BTreeSet::new(),
            san_required: false,
            name_rules: NameRules::default(),
            kind,
            issuer_urls: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProfileSet;
    use crate::keys::KeyKind;

    #[test]
    fn internal_profiles() {
        let ca = Profile::ca_certificate(Some(1));
        assert_eq!(ca.name(), CA_PROFILE_NAME);
        assert_eq!(ca.kind(), CertificateKind::Ca { path_len: Some(1) });
        assert!(ca.kind().is_ca() && ca.kind().is_internal());
        assert!(ca.key_usage().contains(&KeyUsageBit::KeyCertSign));
        assert!(ca.key_usage().contains(&KeyUsageBit::CrlSign));
        assert!(!ca.carries_issuer_urls());
        assert!(ca.allows_key(&KeyKind::Rsa(3072)));
        assert!(!ca.allows_key(&KeyKind::Rsa(1024)));

        let client = Profile::client_credential(false);
        assert_eq!(client.extended_key_usage(), &[ID_KP_CLIENT_AUTH]);
        let ra = Profile::client_credential(true);
        assert_eq!(ra.extended_key_usage(), &[ID_KP_CLIENT_AUTH, ID_KP_CMC_RA]);
        assert!(!ra.kind().is_ca());

        let responder = Profile::ocsp_responder();
        assert_eq!(responder.kind(), CertificateKind::OcspResponder);
        assert_eq!(responder.extended_key_usage(), &[ID_KP_OCSP_SIGNING]);
        assert_eq!(
            responder.backdate_seconds(),
            OCSP_RESPONDER_BACKDATE_SECONDS
        );

        let ee = Profile::builtin();
        assert_eq!(ee.kind(), CertificateKind::EndEntity);
        assert!(!ee.kind().is_internal() && ee.carries_issuer_urls());
    }

    #[test]
    fn a_profiles_file_cannot_define_or_reach_them() {
        for name in [
            CA_PROFILE_NAME,
            CLIENT_CREDENTIAL_PROFILE_NAME,
            OCSP_RESPONDER_PROFILE_NAME,
        ] {
            match ProfileSet::from_toml(&format!("[profile.{name}]\nvalidity_days = 30\n")) {
                Err(crate::Error::Config { field, reason }) => {
                    assert_eq!(field, format!("profile.{name}"));
                    assert!(reason.contains("reserved"), "{reason}");
                }
                other => panic!("{name}: {other:?}"),
            }
            // Not in any set: a request naming one finds nothing.
            assert!(ProfileSet::builtin().get(name).is_err());
            let set = ProfileSet::from_toml("[profile.tls]\n").unwrap();
            assert!(matches!(
                set.get(name),
                Err(crate::Error::UnknownProfile(_))
            ));
            assert!(ProfileSet::from_toml(&format!("default_profile = \"{name}\"\n")).is_err());
        }
        // A file has no field that makes a CA profile.
        for field in [
            "kind = \"ca\"",
            "ca = true",
            "path_len = 0",
            "ocsp_nocheck = true",
        ] {
            assert!(
                matches!(
                    ProfileSet::from_toml(&format!("[profile.x]\n{field}\n")),
                    Err(crate::Error::ConfigSyntax { .. })
                ),
                "{field}"
            );
        }
    }
}
