//! The bodies of CMP requests: CRMF certificate requests (ir, cr, kur) as
//! RFC 9483 §4.1 profiles them, revocation details (§4.2), general message
//! types (§4.3), and the certConf of an issued certificate (RFC 4210
//! §5.3.18, RFC 9480 §2.10).

use std::net::IpAddr;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use cmc_asn1::{CertReqMsg, CertRequest, CertTemplate, ProofOfPossession};
use cmc_keys::{FileKey, HashAlg, KeySpec, SigningKey};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_CE_CRL_REASONS, ID_CE_SUBJECT_ALT_NAME, ID_REG_CTRL_OLD_CERT_ID};
use der::asn1::{Any, Ia5String, Int, Null, OctetString};
use der::{Decode, Encode};
use proto_cmp::{CertId, CertStatus, PkiStatusInfo, RevDetails, oid};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use super::{NewKeyArgs, PopoArg};
use crate::commands::args::{PassphraseArgs, ReasonArg};
use crate::commands::request::{new_key_source, signer_key};

/// The `certReqId` of our one request per message (RFC 9483 §4.1.1).
pub(crate) const CERT_REQ_ID: i64 = 0;

/// Parses a name written as in RFC 4514 (`CN=x,O=y`, most specific
/// first) or as OpenSSL writes it (`/O=y/CN=x`, most specific last).
pub(crate) fn parse_dn(text: &str) -> Result<Name> {
    let rfc4514 = match text.strip_prefix('/') {
        Some(rest) => rest
            .split('/')
            .filter(|p| !p.is_empty())
            .rev()
            .collect::<Vec<_>>()
            .join(","),
        None => text.to_owned(),
    };
    Ok(cmc_ca::x509::parse_name(&rfc4514)?)
}

/// The key a certificate is requested for.
pub(crate) enum NewKey {
    /// A private key: it can sign the POPO.
    Private(Box<FileKey>),
    /// Only the public key (raVerified).
    Public(SubjectPublicKeyInfoOwned),
}

impl NewKey {
    pub(crate) fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        match self {
            Self::Private(k) => k.public_key(),
            Self::Public(p) => p,
        }
    }
}

/// Reads --newkey (a private key with the --key passphrase options, or a
/// public key) or generates --new-key (written mode 0600 before the
/// request is sent, so that the certificate has its key).
pub(crate) fn new_key(args: &NewKeyArgs, passphrase: &PassphraseArgs) -> Result<NewKey> {
    match (&args.newkey, &args.new_key) {
        (Some(path), None) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            if bytes
                .windows(26)
                .any(|w| w == b"-----BEGIN PUBLIC KEY-----")
            {
                let (_, der) = der::pem::decode_vec(&bytes)
                    .map_err(|e| anyhow!("--newkey {}: {e}", path.display()))?;
                let spki = SubjectPublicKeyInfoOwned::from_der(&der)
                    .map_err(|e| anyhow!("--newkey {}: {e}", path.display()))?;
                return Ok(NewKey::Public(spki));
            }
            let key = signer_key(path, passphrase)
                .with_context(|| format!("--newkey {}", path.display()))?;
            Ok(NewKey::Private(Box::new(key)))
        }
        (None, Some(out)) => {
            let source = new_key_source(&args.new_key_passphrase)?;
            if out.exists() {
                bail!("{} exists: refusing to overwrite a key", out.display());
            }
            let key = FileKey::generate(args.key_type.unwrap_or(KeySpec::P256))?;
            match &source {
                Some(s) => key.store(out, s),
                None => key.store_unencrypted(out),
            }
            .with_context(|| format!("writing the new key {}", out.display()))?;
            Ok(NewKey::Private(Box::new(key)))
        }
        _ => bail!("give the key to certify: --newkey KEY, or --new-key OUT_KEY to generate one"),
    }
}

/// The subjectAltName extension for `names` (DNS names, IP addresses, and
/// e-mail addresses with `@`).
pub(crate) fn san_extension(names: &[String]) -> Result<Extension> {
    let mut general = Vec::new();
    for name in names {
        general.push(if let Ok(ip) = name.parse::<IpAddr>() {
            let octets = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            GeneralName::IpAddress(OctetString::new(octets).map_err(|e| anyhow!("{e}"))?)
        } else if name.contains('@') {
            GeneralName::Rfc822Name(
                Ia5String::new(name).map_err(|e| anyhow!("--san {name:?}: {e}"))?,
            )
        } else {
            GeneralName::DnsName(Ia5String::new(name).map_err(|e| anyhow!("--san {name:?}: {e}"))?)
        });
    }
    let value = general
        .to_der()
        .map_err(|e| anyhow!("subjectAltName: {e}"))?;
    Ok(Extension {
        extn_id: ID_CE_SUBJECT_ALT_NAME,
        critical: false,
        extn_value: OctetString::new(value).map_err(|e| anyhow!("{e}"))?,
    })
}

/// The `CertId` of `cert`: its issuer and serial number.
fn cert_id(cert: &Certificate) -> Result<CertId> {
    Ok(CertId {
        issuer: GeneralName::DirectoryName(cert.tbs_certificate().issuer().clone()),
        serial_number: Int::new(cert.tbs_certificate().serial_number().as_bytes())
            .map_err(|e| anyhow!("serial number: {e}"))?,
    })
}

/// One CRMF `CertReqMsg` with `certReqId` 0 for `key` with `subject`,
/// `extensions` and, for kur, the `oldCertID` control of `old`; the POPO a
/// signature by the new key, or raVerified.
pub(crate) fn cert_req_msg(
    key: &NewKey,
    subject: Name,
    extensions: Vec<Extension>,
    old: Option<&Certificate>,
    popo: PopoArg,
) -> Result<CertReqMsg> {
    let template = CertTemplate {
        subject: Some(subject),
        public_key: Some(key.public_key().clone()),
        extensions: (!extensions.is_empty()).then_some(extensions),
        ..CertTemplate::default()
    };
    let mut controls = Vec::new();
    if let Some(old) = old {
        controls.push(AttributeTypeAndValue {
            oid: ID_REG_CTRL_OLD_CERT_ID,
            value: Any::encode_from(&cert_id(old)?).map_err(|e| anyhow!("oldCertID: {e}"))?,
        });
    }
    match (popo, key) {
        (PopoArg::Signature, NewKey::Private(k)) => Ok(cmc_codec::build_crmf_with_controls(
            k.as_ref(),
            0,
            template,
            controls,
        )?),
        (PopoArg::Signature, NewKey::Public(_)) => bail!(
            "--newkey is a public key, which cannot sign the proof of possession: \
             give the private key, or --popo raverified (for an RA)"
        ),
        (PopoArg::Raverified, _) => {
            let mut cert_req =
                CertRequest::new(0, template).map_err(|e| anyhow!("certReq: {e}"))?;
            cert_req.controls = (!controls.is_empty()).then_some(controls);
            Ok(CertReqMsg {
                cert_req,
                popo: Some(ProofOfPossession::RaVerified(Null)),
                reg_info: None,
            })
        }
    }
}

/// `RevDetails` for `cert` (issuer and serial number, RFC 9483 §4.2) with
/// the `reasonCode` entry extension when a reason is given.
pub(crate) fn rev_details(cert: &Certificate, reason: Option<ReasonArg>) -> Result<RevDetails> {
    let id = cert_id(cert)?;
    let GeneralName::DirectoryName(issuer) = id.issuer else {
        bail!("the certificate's issuer is not a name");
    };
    let crl_entry_details = reason
        .map(|r| -> Result<Vec<Extension>> {
            let value = crl_reason(r)
                .to_der()
                .map_err(|e| anyhow!("reasonCode: {e}"))?;
            Ok(vec![Extension {
                extn_id: ID_CE_CRL_REASONS,
                critical: false,
                extn_value: OctetString::new(value).map_err(|e| anyhow!("{e}"))?,
            }])
        })
        .transpose()?;
    Ok(RevDetails {
        cert_details: CertTemplate {
            issuer: Some(issuer),
            serial_number: Some(id.serial_number),
            ..CertTemplate::default()
        },
        crl_entry_details,
    })
}

const fn crl_reason(r: ReasonArg) -> CrlReason {
    match r {
        ReasonArg::Unspecified => CrlReason::Unspecified,
        ReasonArg::KeyCompromise => CrlReason::KeyCompromise,
        ReasonArg::CaCompromise => CrlReason::CaCompromise,
        ReasonArg::AffiliationChanged => CrlReason::AffiliationChanged,
        ReasonArg::Superseded => CrlReason::Superseded,
        ReasonArg::CessationOfOperation => CrlReason::CessationOfOperation,
        ReasonArg::CertificateHold => CrlReason::CertificateHold,
        ReasonArg::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        ReasonArg::AaCompromise => CrlReason::AaCompromise,
    }
}

/// The general-message types by name (RFC 9483 §4.3), or a dotted OID.
pub(crate) fn info_type(text: &str) -> Result<ObjectIdentifier> {
    Ok(match text {
        "caCerts" => oid::ID_IT_CA_CERTS,
        "rootCaKeyUpdate" => oid::ID_IT_ROOT_CA_KEY_UPDATE,
        "certReqTemplate" => oid::ID_IT_CERT_REQ_TEMPLATE,
        "crls" | "crlStatusList" => oid::ID_IT_CRL_STATUS_LIST,
        other => ObjectIdentifier::new(other).map_err(|_| {
            anyhow!(
                "--infotype {other:?}: give caCerts, rootCaKeyUpdate, certReqTemplate, crls \
                 or a dotted OID"
            )
        })?,
    })
}

/// The name of a general-message type, or its dotted OID.
pub(crate) fn info_type_name(oid: &ObjectIdentifier) -> String {
    match *oid {
        oid::ID_IT_CA_CERTS => "caCerts".into(),
        oid::ID_IT_ROOT_CA_KEY_UPDATE => "rootCaKeyUpdate".into(),
        oid::ID_IT_CERT_REQ_TEMPLATE => "certReqTemplate".into(),
        oid::ID_IT_CRL_STATUS_LIST => "crlStatusList".into(),
        oid::ID_IT_CRLS => "crls".into(),
        oid::ID_IT_ROOT_CA_CERT => "rootCaCert".into(),
        other => other.to_string(),
    }
}

/// The certConf entry for `cert` (answering `cert_req_id`): its hash with
/// the hash of its signature algorithm (RFC 4210 §5.3.18), or, when that
/// names none we compute, SHA-256 named in `hashAlg` (RFC 9480 §2.10, which
/// needs `pvno` cmp2021); `rejection` says we refuse the certificate.
pub(crate) fn cert_status(
    cert: &Certificate,
    cert_req_id: i64,
    rejection: Option<PkiStatusInfo>,
) -> Result<CertStatus> {
    let der = cert.to_der().map_err(|e| anyhow!("re-encoding: {e}"))?;
    let named =
        cmc_codec::alg::SignatureAlg::from_algorithm_identifier(cert.signature_algorithm(), None)
            .ok()
            .map(|a| a.hash());
    let (hash, hash_alg): (HashAlg, Option<AlgorithmIdentifierOwned>) = match named {
        Some(h) => (h, None),
        None => (
            HashAlg::Sha256,
            Some(HashAlg::Sha256.algorithm_identifier()),
        ),
    };
    Ok(CertStatus {
        cert_hash: OctetString::new(hash.digest(&der)).map_err(|e| anyhow!("{e}"))?,
        cert_req_id,
        status_info: rejection,
        hash_alg,
    })
}

/// Reads one certificate (the first in a PEM file, or DER).
pub(crate) fn read_one_cert(path: &Path, what: &str) -> Result<Certificate> {
    crate::commands::request::read_cert_file(path, what)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("{what} {}: no certificate", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_and_rfc4514_names_agree() {
        assert_eq!(
            parse_dn("/C=DE/O=Org/CN=tst_sub_ca").unwrap(),
            parse_dn("CN=tst_sub_ca,O=Org,C=DE").unwrap()
        );
        assert!(parse_dn("/").is_err());
    }

    #[test]
    fn sans_are_typed_by_their_form() {
        let ext = san_extension(&[
            "host.example".into(),
            "192.0.2.1".into(),
            "a@example.org".into(),
        ])
        .unwrap();
        let names = Vec::<GeneralName>::from_der(ext.extn_value.as_bytes()).unwrap();
        assert!(matches!(&names[0], GeneralName::DnsName(n) if n.as_str() == "host.example"));
        assert!(matches!(&names[1], GeneralName::IpAddress(o) if o.as_bytes() == [192, 0, 2, 1]));
        assert!(matches!(&names[2], GeneralName::Rfc822Name(n) if n.as_str() == "a@example.org"));
    }

    #[test]
    fn info_types_by_name_or_oid() {
        assert_eq!(info_type("caCerts").unwrap(), oid::ID_IT_CA_CERTS);
        assert_eq!(
            info_type("1.3.6.1.5.5.7.4.17").unwrap(),
            oid::ID_IT_CA_CERTS
        );
        assert!(info_type("nonsense").is_err());
        assert_eq!(info_type_name(&oid::ID_IT_CA_CERTS), "caCerts");
    }
}
