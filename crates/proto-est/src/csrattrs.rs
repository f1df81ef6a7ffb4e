//! The `/csrattrs` answer (RFC 7030 §4.5): what the CA wants to see in a certification
//! request, built from a neutral [`CsrAttrsSpec`] that the caller fills from the CA's
//! profile.

use std::collections::BTreeSet;

use cmc_policy::Curve;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc2985::PKCS_9_AT_CHALLENGE_PASSWORD;
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, ID_EXTENSION_REQ, RSA_ENCRYPTION};
use der::asn1::SetOfVec;
use der::{Any, Choice, Encode};
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::request::ExtensionReq;

use crate::Error;
use crate::reply::{CSRATTRS, Reply, base64_lines};

/// One element of a CSR attributes response (RFC 7030 §4.5.2, with the ASN.1 as RFC 8951
/// corrected it):
///
/// ```text
/// CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID
///
/// AttrOrOID ::= CHOICE {
///     oid        OBJECT IDENTIFIER,
///     attribute  Attribute {{AttrSet}} }
///
/// Attribute { ATTRIBUTE:IOSet } ::= SEQUENCE {
///     type       ATTRIBUTE.&id({IOSet}),
///     values     SET SIZE(1..MAX) OF ATTRIBUTE.&Type({IOSet}{@type}) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum AttrOrOid {
    /// An attribute type or algorithm the CSR should use (challengePassword, a signature
    /// algorithm).
    Oid(ObjectIdentifier),
    /// An attribute with values (a key type and its parameters, an extension request).
    Attribute(Attribute),
}

/// `CsrAttrs`: the body of a CSR attributes response (DER, before base64).
pub type CsrAttrs = Vec<AttrOrOid>;

/// What the CA wants in a certification request, in terms of the CA's profile. Each
/// field adds elements to the response; an empty spec gives an empty `CsrAttrs`, which
/// RFC 7030 §4.5.2 defines as "no specific additional information".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsrAttrsSpec {
    /// Ask for the CSR-to-connection link (RFC 7030 §3.5): the challengePassword OID
    /// (the value a client puts there is this server's channel binding, see
    /// [`crate::Csr::check_channel_binding`]).
    pub channel_binding: bool,
    /// EC keys on these curves: one attribute `id-ecPublicKey` whose values are the curve
    /// OIDs (RFC 7030 §4.5.2's example form, "the values indicating the particular
    /// parameters specific to the algorithm").
    pub ec_curves: Vec<Curve>,
    /// RSA keys of these modulus sizes: one attribute `rsaEncryption` whose values are the
    /// sizes as INTEGERs (the form RFC 9908 gives for a key size). Empty: no RSA.
    pub rsa_sizes: Vec<u32>,
    /// Signature algorithms for the CSR's own signature (for example ecdsa-with-SHA384),
    /// each as an OID, after the attributes as in RFC 7030's example.
    pub signature_algorithms: Vec<ObjectIdentifier>,
    /// Extensions the CA wants requested: one `extensionRequest` attribute whose single
    /// value is an `ExtensionReq` holding them (RFC 9908; PKCS #9's type for the
    /// attribute, where RFC 7030's example listed bare extension OIDs as its values).
    pub extensions: Vec<Extension>,
}

impl CsrAttrsSpec {
    /// The `CsrAttrs` elements, in the order of RFC 7030's example: challengePassword, key
    /// types, extension request, signature algorithms.
    ///
    /// # Errors
    /// [`Error::Encode`] if a value does not encode.
    pub fn to_csr_attrs(&self) -> Result<CsrAttrs, Error> {
        let mut out = Vec::new();
        if self.channel_binding {
            out.push(AttrOrOid::Oid(PKCS_9_AT_CHALLENGE_PASSWORD));
        }
        // A curve or size named twice is one value of the SET.
        let curves: BTreeSet<Curve> = self.ec_curves.iter().copied().collect();
        if !curves.is_empty() {
            let values = curves.iter().map(|c| Any::encode_from(&c.oid()));
            out.push(attribute(ID_EC_PUBLIC_KEY, values)?);
        }
        let sizes: BTreeSet<u32> = self.rsa_sizes.iter().copied().collect();
        if !sizes.is_empty() {
            let values = sizes.iter().map(Any::encode_from);
            out.push(attribute(RSA_ENCRYPTION, values)?);
        }
        if !self.extensions.is_empty() {
            let req = Any::encode_from(&ExtensionReq(self.extensions.clone()));
            out.push(attribute(ID_EXTENSION_REQ, std::iter::once(req))?);
        }
        out.extend(
            self.signature_algorithms
                .iter()
                .copied()
                .map(AttrOrOid::Oid),
        );
        Ok(out)
    }
}

fn attribute(
    oid: ObjectIdentifier,
    values: impl Iterator<Item = der::Result<Any>>,
) -> Result<AttrOrOid, Error> {
    let encode = |e: der::Error| Error::Encode(format!("csrattrs {oid}: {e}"));
    let values = values.collect::<der::Result<Vec<Any>>>().map_err(encode)?;
    let values = SetOfVec::try_from(values).map_err(encode)?;
    Ok(AttrOrOid::Attribute(Attribute { oid, values }))
}

/// The `/csrattrs` answer: `spec` as DER `CsrAttrs`, base64, `application/csrattrs`
/// (RFC 7030 §4.5.2).
///
/// # Errors
/// Those of [`CsrAttrsSpec::to_csr_attrs`].
pub fn csrattrs_reply(spec: &CsrAttrsSpec) -> Result<Reply, Error> {
    let der = spec
        .to_csr_attrs()?
        .to_der()
        .map_err(|e| Error::Encode(format!("csrattrs: {e}")))?;
    let mut r = Reply::new(200, CSRATTRS, base64_lines(&der));
    r.headers
        .push(("Content-Transfer-Encoding".to_owned(), "base64".to_owned()));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use base64ct::{Base64, Encoding};
    use const_oid::db::rfc5912::{ECDSA_WITH_SHA_384, ID_CE_SUBJECT_ALT_NAME, SECP_384_R_1};
    use der::Decode;
    use der::asn1::OctetString;

    use super::*;

    /// The example of RFC 7030 §4.5.2: challengePassword; id-ecPublicKey with secp384r1;
    /// extensionRequest with the OID of macAddress (1.3.6.1.1.1.1.22) as its value;
    /// ecdsa-with-SHA384.
    const RFC7030_EXAMPLE: &str = "MEEGCSqGSIb3DQEJBzASBgcqhkjOPQIBMQcGBSuBBAAiMBYGCSqGSIb3DQEJ\
                                   DjEJBgcrBgEBAQEWBggqhkjOPQQDAw==";

    #[test]
    fn rfc7030_example_round_trip() {
        let der = Base64::decode_vec(RFC7030_EXAMPLE).unwrap();
        let attrs = CsrAttrs::from_der(&der).unwrap();
        assert_eq!(attrs.len(), 4);
        assert_eq!(attrs[0], AttrOrOid::Oid(PKCS_9_AT_CHALLENGE_PASSWORD));
        let AttrOrOid::Attribute(ec) = &attrs[1] else {
            panic!("{:?}", attrs[1])
        };
        assert_eq!(ec.oid, ID_EC_PUBLIC_KEY);
        let curve: ObjectIdentifier = ec.values.get(0).unwrap().decode_as().unwrap();
        assert_eq!(curve, SECP_384_R_1);
        assert_eq!(attrs[3], AttrOrOid::Oid(ECDSA_WITH_SHA_384));
        assert_eq!(attrs.to_der().unwrap(), der);

        // Our spec for the same wishes gives the same bytes for the elements it shares.
        let spec = CsrAttrsSpec {
            channel_binding: true,
            ec_curves: vec![Curve::P384],
            signature_algorithms: vec![ECDSA_WITH_SHA_384],
            ..CsrAttrsSpec::default()
        };
        let ours = spec.to_csr_attrs().unwrap();
        assert_eq!(
            ours,
            vec![attrs[0].clone(), attrs[1].clone(), attrs[3].clone()]
        );
    }

    #[test]
    fn full_spec() {
        let san = Extension {
            extn_id: ID_CE_SUBJECT_ALT_NAME,
            critical: false,
            extn_value: OctetString::new(vec![0x30, 0x00]).unwrap(),
        };
        let spec = CsrAttrsSpec {
            channel_binding: false,
            ec_curves: vec![Curve::P256, Curve::P384],
            rsa_sizes: vec![3072, 2048],
            signature_algorithms: vec![ECDSA_WITH_SHA_384],
            extensions: vec![san.clone()],
        };
        let reply = csrattrs_reply(&spec).unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("Content-Type"), Some("application/csrattrs"));
        let text: String = String::from_utf8(reply.body)
            .unwrap()
            .split_whitespace()
            .collect();
        let attrs = CsrAttrs::from_der(&Base64::decode_vec(&text).unwrap()).unwrap();
        assert_eq!(attrs.len(), 4);
        let AttrOrOid::Attribute(ec) = &attrs[0] else {
            panic!()
        };
        let curves: Vec<ObjectIdentifier> =
            ec.values.iter().map(|v| v.decode_as().unwrap()).collect();
        assert_eq!(curves.len(), 2);
        assert!(curves.contains(&Curve::P256.oid()) && curves.contains(&Curve::P384.oid()));
        let AttrOrOid::Attribute(rsa) = &attrs[1] else {
            panic!()
        };
        assert_eq!(rsa.oid, RSA_ENCRYPTION);
        let mut sizes: Vec<u32> = rsa.values.iter().map(|v| v.decode_as().unwrap()).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [2048, 3072]);
        let AttrOrOid::Attribute(ext) = &attrs[2] else {
            panic!()
        };
        assert_eq!(ext.oid, ID_EXTENSION_REQ);
        let req: ExtensionReq = ext.values.get(0).unwrap().decode_as().unwrap();
        assert_eq!(req.0, vec![san]);
        assert_eq!(attrs[3], AttrOrOid::Oid(ECDSA_WITH_SHA_384));
    }

    #[test]
    fn empty_spec_is_an_empty_sequence() {
        let reply = csrattrs_reply(&CsrAttrsSpec::default()).unwrap();
        assert_eq!(reply.body, b"MAA=\n");
        // The same curve or size twice is one value.
        let twice = CsrAttrsSpec {
            ec_curves: vec![Curve::P256, Curve::P256],
            rsa_sizes: vec![2048, 2048],
            ..CsrAttrsSpec::default()
        };
        let attrs = twice.to_csr_attrs().unwrap();
        for a in &attrs {
            let AttrOrOid::Attribute(a) = a else { panic!() };
            assert_eq!(a.values.len(), 1);
        }
        assert_eq!(attrs.len(), 2);
    }
}
