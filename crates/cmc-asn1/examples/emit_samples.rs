//! Writes sample CMC messages built with this crate as DER files, for an independent
//! decoder to check (`scripts/pyasn1_check.py` decodes them with pyasn1-modules).
//!
//! ```text
//! cargo run -p cmc-asn1 --example emit_samples -- OUT_DIR
//! ```
//!
//! Each file is a `ContentInfo` holding a `SignedData` without signers (the RFC 5272 §3.2
//! form of an unsigned Full PKI message) whose eContent is a PKIData or PKIResponse.

#[path = "../tests/common/mod.rs"]
mod common;

use std::error::Error;
use std::path::PathBuf;

use cmc_asn1::oid;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerInfos};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::ID_SIGNED_DATA;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Encode, Tag};

/// Wraps an encoded PKIData/PKIResponse in ContentInfo { SignedData { no signers } }.
fn wrap(econtent_type: ObjectIdentifier, econtent: &[u8]) -> Result<Vec<u8>, Box<dyn Error>> {
    let sd = SignedData {
        // eContentType is not id-data: version 3 (RFC 5652 §5.1).
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type,
            econtent: Some(Any::new(
                Tag::OctetString,
                OctetString::new(econtent)?.as_bytes(),
            )?),
        },
        certificates: None,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    let ci = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd)?,
    };
    Ok(ci.to_der()?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: emit_samples OUT_DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir)?;

    let mut files = vec![
        (
            "pki_data_full",
            oid::ID_CCT_PKI_DATA,
            common::sample_pki_data().to_der()?,
        ),
        (
            "pki_data_popo",
            oid::ID_CCT_PKI_DATA,
            common::sample_popo_pki_data().to_der()?,
        ),
        (
            "pki_data_ra",
            oid::ID_CCT_PKI_DATA,
            common::sample_ra_pki_data().to_der()?,
        ),
    ];
    for (name, response) in common::sample_responses() {
        files.push((name, oid::ID_CCT_PKI_RESPONSE, response.to_der()?));
    }

    for (name, econtent_type, econtent) in files {
        let path = dir.join(format!("{name}.der"));
        std::fs::write(&path, wrap(econtent_type, &econtent)?)?;
        println!("{}", path.display());
    }
    Ok(())
}
