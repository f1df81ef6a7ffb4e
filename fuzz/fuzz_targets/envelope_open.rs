//! Encrypted CMC (`cmc_codec::decrypt`, `cmc_codec::wrapped`): opening an
//! EnvelopedData or AuthEnvelopedData (alone or inside a SignedData) with
//! the CA's encryption credential, as the CMC door
//! does before it verifies the request inside, and with a key alone, as
//! `cmc-tool show --decrypt-key` does.
//!
//! The first input byte chooses how the rest is used:
//! - below 0x40 (so every DER seed, which starts with 0x30): the whole
//!   input is the envelope, opened with an RSA and a P-256 credential;
//! - 0x40 and above: one of the envelopes made at setup (RSA-OAEP and
//!   ECDH, by `cmc_codec::encrypt::envelop_signed`) with bytes overwritten
//!   where the input says, so that the input reaches the key transport,
//!   the key agreement, the key unwrap and the content decryption.
//!
//! Besides "nothing panics": an untouched envelope opens to what was put
//! in, and an envelope only ever opens to content no larger than itself.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use cmc_codec::decrypt;
use cmc_keys::{FileKey, KeyAdapter, KeySpec, RawSignature, SigningKey};
use der::Encode;
use libfuzzer_sys::fuzz_target;
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoRef;
use x509_cert::time::Validity;

/// The largest envelope opened (the CMC door's default body cap).
const MAX: usize = 1 << 20;

/// A self-signed certificate without extensions (no keyUsage: it may
/// receive encrypted messages).
struct Bare(Name);

impl BuilderProfile for Bare {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.0.clone()
    }

    fn get_subject(&self) -> Name {
        self.0.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

struct Fixture {
    /// (key, certificate): RSA 2048, then P-256.
    credentials: Vec<(FileKey, Certificate)>,
    /// The plaintext of every envelope: a signed message (any SignedData).
    content: Vec<u8>,
    /// One envelope per credential.
    envelopes: Vec<Vec<u8>>,
}

fn setup_step<T, E: std::fmt::Debug>(what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("envelope_open setup: {what}: {e:?}"),
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let credentials: Vec<(FileKey, Certificate)> = [KeySpec::Rsa2048, KeySpec::P256]
            .into_iter()
            .zip(1u8..)
            .map(|(spec, serial)| {
                let key = setup_step("key", FileKey::generate(spec));
                let name: Name = setup_step("name", "CN=fuzz encryption".parse());
                let builder = setup_step(
                    "builder",
                    CertificateBuilder::new(
                        Bare(name),
                        setup_step("serial", SerialNumber::new(&[serial])),
                        setup_step("validity", Validity::from_now(Duration::from_secs(3600))),
                        key.public_key().clone(),
                    ),
                );
                let cert = setup_step(
                    "certificate",
                    builder.build::<_, RawSignature>(&KeyAdapter::new(&key)),
                );
                (key, cert)
            })
            .collect();
        let (key, cert) = &credentials[0];
        let signer = setup_step("signer", cmc_codec::CmsSigner::new(key, cert, &[]));
        let content = setup_step(
            "request",
            cmc_codec::RequestBuilder::new().sign(&signer, std::time::SystemTime::now()),
        );
        let envelopes = credentials
            .iter()
            .map(|(_, cert)| {
                let ci = setup_step(
                    "envelope",
                    cmc_codec::encrypt::envelop_signed(&content, cert),
                );
                setup_step("encoding", ci.to_der())
            })
            .collect();
        Fixture {
            credentials,
            content,
            envelopes,
        }
    })
}

/// Opens `input` every way there is; checks what opens.
fn open_all(f: &Fixture, input: &[u8], pristine: bool) {
    let _ = decrypt::envelope_kind(input);
    // "Option 2": the same envelope inside a SignedData.
    let opts = cmc_codec::VerifyOptions::new(std::time::SystemTime::now());
    let _ = cmc_codec::wrapped::signed_envelope(input, &opts);
    for (key, cert) in &f.credentials {
        for opened in [
            decrypt::open(input, cert, key, MAX),
            decrypt::open_with_key(input, key, MAX),
        ] {
            match opened {
                Ok(o) => {
                    assert!(
                        o.content.len() <= input.len(),
                        "content larger than its envelope"
                    );
                    let der = o.content_info_der();
                    if pristine {
                        assert_eq!(der.ok().as_deref(), Some(f.content.as_slice()));
                    }
                }
                Err(e) => {
                    // What the door answers: never an internal error.
                    assert_ne!(e.fail_info(), cmc_asn1::CmcFailInfo::InternalCaError, "{e}");
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    match data.first().copied() {
        None => {}
        Some(0..0x40) => open_all(f, data, false),
        Some(_) => {
            let mut rest = &data[1..];
            let mut next = || match rest.split_first() {
                Some((b, tail)) => {
                    rest = tail;
                    *b
                }
                None => 0,
            };
            let which = usize::from(next()) % f.envelopes.len();
            let mut envelope = f.envelopes[which].clone();
            let mut touched = false;
            loop {
                let (hi, lo, value) = (next(), next(), next());
                if (hi, lo, value) == (0, 0, 0) {
                    break;
                }
                let at = usize::from(u16::from_be_bytes([hi, lo])) % envelope.len();
                touched |= envelope[at] != value;
                envelope[at] = value;
            }
            open_all(f, &envelope, !touched);
        }
    }
});
