//! An adapter from [`SigningKey`] to the RustCrypto signer traits.
//!
//! x509-cert 0.3's `Builder::build` and cms 0.3's
//! `SignedDataBuilder::add_signer_info` both ask for a signer `S` with
//! `S: Signer<Sig> + Keypair + DynSignatureAlgorithmIdentifier`,
//! `S::VerifyingKey: EncodePublicKey` and `Sig: SignatureBitStringEncoding`.
//! [`KeyAdapter`] provides exactly that for any `&dyn SigningKey`.

use der::Document;
use der::asn1::BitString;
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SignatureBitStringEncoding, SubjectPublicKeyInfoOwned,
};

use crate::SigningKey;

/// Wraps a [`SigningKey`] so the x509-cert and cms builders can sign with it.
///
/// ```no_run
/// # fn f(key: &dyn cmc_keys::SigningKey, builder: x509_cert::builder::CertificateBuilder<x509_cert::builder::profile::cabf::Root>) -> Result<(), Box<dyn std::error::Error>> {
/// use x509_cert::builder::Builder;
/// use cmc_keys::{KeyAdapter, RawSignature};
/// let cert = builder.build::<_, RawSignature>(&KeyAdapter::new(key))?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct KeyAdapter<'a>(pub &'a dyn SigningKey);

impl<'a> KeyAdapter<'a> {
    /// Wrap `key`.
    #[must_use]
    pub fn new(key: &'a dyn SigningKey) -> Self {
        Self(key)
    }
}

/// The public half of a [`KeyAdapter`]: the key's SPKI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(pub SubjectPublicKeyInfoOwned);

impl EncodePublicKey for PublicKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Ok(Document::encode_msg(&self.0)?)
    }
}

/// A signature value exactly as the backend produced it (DER
/// `ECDSA-Sig-Value` for ECDSA, the octet string for RSA), for placing in
/// a BIT STRING (certificates, CRLs) or an OCTET STRING (CMS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSignature(pub Vec<u8>);

impl SignatureBitStringEncoding for RawSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

impl AsRef<[u8]> for RawSignature {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl signature::Keypair for KeyAdapter<'_> {
    type VerifyingKey = PublicKey;

    fn verifying_key(&self) -> PublicKey {
        PublicKey(self.0.public_key().clone())
    }
}

impl DynSignatureAlgorithmIdentifier for KeyAdapter<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.0.signature_algorithm().clone())
    }
}

impl signature::Signer<RawSignature> for KeyAdapter<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<RawSignature, signature::Error> {
        self.0
            .sign(msg)
            .map(RawSignature)
            .map_err(signature::Error::from_source)
    }
}
