//! Finding a key's objects on the token and reading its public key: the
//! private key by locator, its `CKA_ID`, and the SPKI built from the EC or
//! RSA public attributes.

use const_oid::ObjectIdentifier;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use der::asn1::{OctetStringRef, UintRef};
use der::{Decode, Encode};
use pkcs1::DecodeRsaPublicKey;
use pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use spki::SubjectPublicKeyInfoOwned;

use super::config::KeyLocator;
use super::token::Token;
use crate::{Error, KeySpec};

pub(super) fn find_private_key(
    token: &Token,
    session: &Session,
    locator: &KeyLocator,
) -> Result<ObjectHandle, Error> {
    let found = session
        .find_objects(&locator.template(ObjectClass::PRIVATE_KEY))
        .map_err(|e| token.err("C_FindObjects", e))?;
    match found.as_slice() {
        [] => Err(Error::KeyNotFound {
            token: token.label.clone(),
            key: locator.to_string(),
            what: "private key",
        }),
        [handle] => Ok(*handle),
        many => Err(Error::AmbiguousKey {
            token: token.label.clone(),
            key: locator.to_string(),
            count: many.len(),
        }),
    }
}

pub(super) fn object_id(
    token: &Token,
    session: &Session,
    handle: ObjectHandle,
) -> Result<Vec<u8>, Error> {
    let attrs = session
        .get_attributes(handle, &[AttributeType::Id])
        .map_err(|e| token.err("C_GetAttributeValue", e))?;
    Ok(attrs
        .into_iter()
        .find_map(|a| match a {
            Attribute::Id(id) => Some(id),
            _ => None,
        })
        .unwrap_or_default())
}

/// Build the SPKI from the token: `CKA_EC_PARAMS` + `CKA_EC_POINT` of the
/// public key object for EC; `CKA_MODULUS` + `CKA_PUBLIC_EXPONENT` (of the
/// public key object, or of the private key, which carries them too) for RSA.
pub(super) fn read_public_key(
    token: &Token,
    session: &Session,
    private: ObjectHandle,
    locator: &KeyLocator,
) -> Result<(KeySpec, SubjectPublicKeyInfoOwned), Error> {
    let get = |handle, types: &[AttributeType]| {
        session
            .get_attributes(handle, types)
            .map_err(|e| token.err("C_GetAttributeValue", e))
    };
    let mut key_type = None;
    let mut id = Vec::new();
    for a in get(private, &[AttributeType::KeyType, AttributeType::Id])? {
        match a {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::Id(v) => id = v,
            _ => {}
        }
    }
    let key_type = key_type.ok_or_else(|| Error::Token {
        token: token.label.clone(),
        op: "C_GetAttributeValue",
        detail: "the private key has no CKA_KEY_TYPE".to_owned(),
    })?;

    // The public half shares the private key's CKA_ID (or, without one, its label).
    let mut template = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(key_type),
    ];
    if !id.is_empty() {
        template.push(Attribute::Id(id));
    } else if let Some(label) = &locator.label {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    let publics = session
        .find_objects(&template)
        .map_err(|e| token.err("C_FindObjects", e))?;
    let public = match publics.as_slice() {
        [] => None,
        [one] => Some(*one),
        many => {
            return Err(Error::AmbiguousKey {
                token: token.label.clone(),
                key: locator.to_string(),
                count: many.len(),
            });
        }
    };

    if key_type == KeyType::EC {
        let public = public.ok_or_else(|| Error::KeyNotFound {
            token: token.label.clone(),
            key: locator.to_string(),
            what: "public key",
        })?;
        let mut params = None;
        let mut point = None;
        for a in get(public, &[AttributeType::EcParams, AttributeType::EcPoint])? {
            match a {
                Attribute::EcParams(v) => params = Some(v),
                Attribute::EcPoint(v) => point = Some(v),
                _ => {}
            }
        }
        let (Some(params), Some(point)) = (params, point) else {
            return Err(Error::Token {
                token: token.label.clone(),
                op: "C_GetAttributeValue",
                detail: "the EC public key lacks CKA_EC_PARAMS or CKA_EC_POINT".to_owned(),
            });
        };
        ec_spki(&params, &point)
    } else if key_type == KeyType::RSA {
        let source = public.unwrap_or(private);
        let mut modulus = None;
        let mut exponent = None;
        for a in get(
            source,
            &[AttributeType::Modulus, AttributeType::PublicExponent],
        )? {
            match a {
                Attribute::Modulus(v) => modulus = Some(v),
                Attribute::PublicExponent(v) => exponent = Some(v),
                _ => {}
            }
        }
        let (Some(modulus), Some(exponent)) = (modulus, exponent) else {
            return Err(Error::Token {
                token: token.label.clone(),
                op: "C_GetAttributeValue",
                detail: "the RSA key lacks CKA_MODULUS or CKA_PUBLIC_EXPONENT".to_owned(),
            });
        };
        rsa_spki(&modulus, &exponent)
    } else {
        Err(Error::UnsupportedKey(format!(
            "PKCS#11 key type {key_type}"
        )))
    }
}

/// SPKI for an EC key from `CKA_EC_PARAMS` (a DER namedCurve OID) and
/// `CKA_EC_POINT`, which modules give either as a DER OCTET STRING holding
/// the SEC1 point (as PKCS#11 says) or as the raw point.
fn ec_spki(params: &[u8], point: &[u8]) -> Result<(KeySpec, SubjectPublicKeyInfoOwned), Error> {
    let curve = ObjectIdentifier::from_der(params).map_err(|_| {
        Error::UnsupportedKey("EC key whose CKA_EC_PARAMS is not a named curve".to_owned())
    })?;
    let spec = KeySpec::from_curve_oid(&curve)
        .ok_or_else(|| Error::UnsupportedKey(format!("EC curve {curve}")))?;
    let field = spec.ec_field_len().unwrap_or(0);
    let raw_len = 1 + 2 * field;
    let sec1 = if point.len() == raw_len && point.first() == Some(&0x04) {
        point
    } else {
        <&OctetStringRef>::from_der(point)
            .map_err(|e| Error::MalformedKey(format!("CKA_EC_POINT: {e}")))?
            .as_bytes()
    };
    let bad = |e| Error::MalformedKey(format!("CKA_EC_POINT is not a {spec} point: {e}"));
    let doc = match spec {
        KeySpec::P256 => p256::PublicKey::from_sec1_bytes(sec1)
            .map_err(bad)?
            .to_public_key_der(),
        KeySpec::P384 => p384::PublicKey::from_sec1_bytes(sec1)
            .map_err(bad)?
            .to_public_key_der(),
        _ => p521::PublicKey::from_sec1_bytes(sec1)
            .map_err(bad)?
            .to_public_key_der(),
    }
    .map_err(|e| Error::Encode(format!("public key: {e}")))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(doc.as_bytes())
        .map_err(|e| Error::Encode(format!("public key: {e}")))?;
    Ok((spec, spki))
}

/// SPKI for an RSA key from its big-endian modulus and exponent.
fn rsa_spki(
    modulus: &[u8],
    exponent: &[u8],
) -> Result<(KeySpec, SubjectPublicKeyInfoOwned), Error> {
    let malformed = |e: String| Error::MalformedKey(format!("RSA public key from token: {e}"));
    let pkcs1_key = pkcs1::RsaPublicKey {
        modulus: UintRef::new(modulus).map_err(|e| malformed(e.to_string()))?,
        public_exponent: UintRef::new(exponent).map_err(|e| malformed(e.to_string()))?,
    };
    let der = pkcs1_key.to_der().map_err(|e| malformed(e.to_string()))?;
    let key = rsa::RsaPublicKey::from_pkcs1_der(&der).map_err(|e| malformed(e.to_string()))?;
    let bits = key.n().bits() as usize;
    let spec = KeySpec::from_rsa_bits(bits).ok_or_else(|| {
        Error::UnsupportedKey(format!(
            "RSA key of {bits} bits (2048, 3072 or 4096 are supported)"
        ))
    })?;
    let doc = key
        .to_public_key_der()
        .map_err(|e| Error::Encode(format!("public key: {e}")))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(doc.as_bytes())
        .map_err(|e| Error::Encode(format!("public key: {e}")))?;
    Ok((spec, spki))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;

    #[test]
    fn ec_point_both_encodings() {
        let key = crate::FileKey::generate(KeySpec::P384).unwrap();
        let spki = key.public_key();
        let raw = spki.subject_public_key.raw_bytes();
        let params = spec_params(KeySpec::P384);
        let (spec, a) = ec_spki(&params, raw).unwrap();
        assert_eq!(spec, KeySpec::P384);
        assert_eq!(&a, spki);
        let wrapped = OctetStringRef::new(raw).unwrap().to_der().unwrap();
        let (_, b) = ec_spki(&params, &wrapped).unwrap();
        assert_eq!(&b, spki);
        assert!(ec_spki(&params, &raw[..40]).is_err());
    }

    fn spec_params(spec: KeySpec) -> Vec<u8> {
        spec.curve_oid().unwrap().to_der().unwrap()
    }
}
