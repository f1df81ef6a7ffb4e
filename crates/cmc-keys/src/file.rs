//! Software keys kept in PEM files, encrypted at rest.
//!
//! Keys are written as PKCS#8 `ENCRYPTED PRIVATE KEY` (PBES2: scrypt with
//! log₂N = 14, r = 8, p = 1 and a 16-byte salt, AES-256-CBC; readable by
//! OpenSSL 3), created with mode 0600 and never over an existing file. An
//! unencrypted key is only written or read through the explicitly named
//! `*_unencrypted` functions. Existing keys can be imported from PKCS#8
//! (encrypted or not), SEC1 `EC PRIVATE KEY` and PKCS#1 `RSA PRIVATE KEY`.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION};
use der::pem::LineEnding;
use der::{Decode, SecretDocument};
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;
use p256::elliptic_curve::Generate;
use pkcs1::DecodeRsaPrivateKey;
use pkcs8::{EncodePrivateKey, EncodePublicKey, PrivateKeyInfoRef};
use rsa::traits::PublicKeyParts;
use signature::hazmat::PrehashSigner;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use crate::{Error, HashAlg, KeySpec, Secret, SecretSource, SignatureScheme, SigningKey};

const LABEL_PKCS8: &str = "PRIVATE KEY";
const LABEL_PKCS8_ENCRYPTED: &str = "ENCRYPTED PRIVATE KEY";
const LABEL_SEC1: &str = "EC PRIVATE KEY";
const LABEL_PKCS1: &str = "RSA PRIVATE KEY";
const LABEL_EC_PARAMETERS: &str = "EC PARAMETERS";

/// The private key itself.
enum SoftKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
}

/// A private key held in this process's memory, read from or written to
/// a PEM file.
///
/// ```
/// use cmc_keys::{FileKey, KeySpec, Secret, SigningKey};
/// let key = FileKey::generate(KeySpec::P256)?;
/// let pem = key.to_encrypted_pem(&Secret::new(b"correct horse".to_vec()))?;
/// let again = FileKey::from_pem(pem.as_bytes(), Some(&Secret::new(b"correct horse".to_vec())))?;
/// assert_eq!(key.public_key(), again.public_key());
/// # Ok::<(), cmc_keys::Error>(())
/// ```
pub struct FileKey {
    key: SoftKey,
    spec: KeySpec,
    scheme: SignatureScheme,
    spki: SubjectPublicKeyInfoOwned,
    sig_alg: AlgorithmIdentifierOwned,
    /// The same key in AWS-LC, for `scheme`; `None` where RustCrypto signs
    /// (see `fast.rs`).
    #[cfg(feature = "aws-lc")]
    fast: Option<crate::fast::FastKey>,
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKey")
            .field("spec", &self.spec)
            .field("scheme", &self.scheme)
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl FileKey {
    /// Generate a new key in memory, signing with the type's default scheme
    /// ([`KeySpec::default_scheme`]). Store it with [`FileKey::store`].
    ///
    /// # Errors
    /// [`Error::Rng`] if the system RNG fails, [`Error::KeyGeneration`] if
    /// RSA key generation fails.
    pub fn generate(spec: KeySpec) -> Result<Self, Error> {
        let key = match spec {
            KeySpec::P256 => SoftKey::P256(
                p256::ecdsa::SigningKey::try_generate_from_rng(&mut SysRng)
                    .map_err(|_| Error::Rng)?,
            ),
            KeySpec::P384 => SoftKey::P384(
                p384::ecdsa::SigningKey::try_generate_from_rng(&mut SysRng)
                    .map_err(|_| Error::Rng)?,
            ),
            KeySpec::P521 => SoftKey::P521(
                p521::ecdsa::SigningKey::try_generate_from_rng(&mut SysRng)
                    .map_err(|_| Error::Rng)?,
            ),
            KeySpec::Rsa2048 => generate_rsa(2048)?,
            KeySpec::Rsa3072 => generate_rsa(3072)?,
            KeySpec::Rsa4096 => generate_rsa(4096)?,
        };
        Self::from_soft_key(key)
    }

    fn from_soft_key(key: SoftKey) -> Result<Self, Error> {
        let (spec, spki_doc) = match &key {
            SoftKey::P256(k) => (KeySpec::P256, k.verifying_key().to_public_key_der()),
            SoftKey::P384(k) => (KeySpec::P384, k.verifying_key().to_public_key_der()),
            SoftKey::P521(k) => (KeySpec::P521, k.verifying_key().to_public_key_der()),
            SoftKey::Rsa(k) => {
                let bits = k.n().bits() as usize;
                let spec = KeySpec::from_rsa_bits(bits).ok_or_else(|| {
                    Error::UnsupportedKey(format!(
                        "RSA key of {bits} bits (2048, 3072 or 4096 are supported)"
                    ))
                })?;
                (spec, k.to_public_key().to_public_key_der())
            }
        };
        let spki_doc = spki_doc.map_err(|e| Error::Encode(format!("public key: {e}")))?;
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_doc.as_bytes())
            .map_err(|e| Error::Encode(format!("public key: {e}")))?;
        let scheme = spec.default_scheme();
        let mut key = Self {
            key,
            spec,
            scheme,
            spki,
            sig_alg: scheme.algorithm_identifier()?,
            #[cfg(feature = "aws-lc")]
            fast: None,
        };
        key.build_fast()?;
        Ok(key)
    }

    /// With the `aws-lc` feature, builds the AWS-LC key pair for the current
    /// scheme from the key's PKCS #8 DER (a `SecretDocument`: zeroized when
    /// dropped here); without it, nothing.
    fn build_fast(&mut self) -> Result<(), Error> {
        #[cfg(feature = "aws-lc")]
        {
            let der = self.pkcs8_der()?;
            let public = self.spki.subject_public_key.raw_bytes();
            self.fast = crate::fast::FastKey::new(self.spec, self.scheme, der.as_bytes(), public);
        }
        Ok(())
    }

    /// The library that signs with this key: `"aws-lc-rs"` or `"RustCrypto"`.
    /// With the `aws-lc` feature, RustCrypto still signs the ECDSA curve/hash
    /// pairs aws-lc-rs has no algorithm for (P-256 with SHA-384 or SHA-512,
    /// P-384 with SHA-256 or SHA-512).
    #[must_use]
    pub fn backend(&self) -> &'static str {
        #[cfg(feature = "aws-lc")]
        if self.fast.is_some() {
            return crate::AWS_LC;
        }
        crate::RUST_CRYPTO
    }

    /// Decrypts RSAES-OAEP (SHA-256, MGF1 with SHA-256, empty label)
    /// `ciphertext` with this RSA key: how a key that may not sign opens a
    /// CMS key transport (the encryptedPOP challenge of RFC 5272 §6.7).
    ///
    /// # Errors
    /// [`Error::UnsupportedKey`] for an EC key; [`Error::Decrypt`] if the
    /// ciphertext does not decrypt.
    pub fn decrypt_rsa_oaep_sha256(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let SoftKey::Rsa(key) = &self.key else {
            return Err(Error::UnsupportedKey(format!(
                "{} keys do not decrypt RSAES-OAEP",
                self.spec
            )));
        };
        key.decrypt(rsa::Oaep::<sha2::Sha256>::new(), ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| Error::Decrypt)
    }

    /// Decrypts a CMS key transport `ciphertext` (RFC 5652 §6.2.1) with
    /// this RSA key under `padding`: how the CA's encryption credential
    /// opens the content key of an encrypted request. PKCS #1 v1.5 uses
    /// implicit rejection (see [`crate::RsaKeyTransport::Pkcs1v15`]).
    ///
    /// # Errors
    /// [`Error::UnsupportedKey`] for an EC key; [`Error::Decrypt`] if the
    /// ciphertext does not decrypt.
    pub fn decrypt_rsa(
        &self,
        padding: crate::RsaKeyTransport,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let SoftKey::Rsa(key) = &self.key else {
            return Err(Error::UnsupportedKey(format!(
                "{} keys do not decrypt RSA key transport",
                self.spec
            )));
        };
        crate::transport::decrypt(key, padding, ciphertext)
    }

    /// The raw ECDH shared secret (the x-coordinate, RFC 5753 §3.1.1)
    /// of this P-256 or P-384 key with the peer's public point `peer`
    /// (SEC1, as in an originatorKey): how a key agreement key opens a CMS
    /// KeyAgreeRecipientInfo (the encryptedPOP challenge of RFC 5272 §6.7).
    ///
    /// # Errors
    /// [`Error::UnsupportedKey`] for an RSA or P-521 key;
    /// [`Error::Decrypt`] for a point that is not on the curve.
    pub fn ecdh_shared_secret(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        match &self.key {
            SoftKey::P256(k) => {
                let peer = p256::PublicKey::from_sec1_bytes(peer).map_err(|_| Error::Decrypt)?;
                let shared = p256::ecdh::diffie_hellman(k.as_nonzero_scalar(), peer.as_affine());
                Ok(Zeroizing::new(shared.raw_secret_bytes().to_vec()))
            }
            SoftKey::P384(k) => {
                let peer = p384::PublicKey::from_sec1_bytes(peer).map_err(|_| Error::Decrypt)?;
                let shared = p384::ecdh::diffie_hellman(k.as_nonzero_scalar(), peer.as_affine());
                Ok(Zeroizing::new(shared.raw_secret_bytes().to_vec()))
            }
            _ => Err(Error::UnsupportedKey(format!(
                "{} keys do not do ECDH here (P-256 and P-384 do)",
                self.spec
            ))),
        }
    }

    /// The key type.
    #[must_use]
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// The signature scheme in use.
    #[must_use]
    pub fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    /// Sign with `scheme` from now on (for example RSA-PSS with SHA-384).
    ///
    /// # Errors
    /// [`Error::IncompatibleScheme`] if the scheme does not fit the key.
    pub fn with_scheme(mut self, scheme: SignatureScheme) -> Result<Self, Error> {
        scheme.check_key(self.spec)?;
        self.sig_alg = scheme.algorithm_identifier()?;
        self.scheme = scheme;
        self.build_fast()?;
        Ok(self)
    }

    /// The private key as unencrypted PKCS #8 DER: for handing a key the
    /// CA generated to its subject over a protected channel (EST
    /// serverkeygen over TLS), never for storing it.
    ///
    /// # Errors
    /// [`Error::Encode`] if the key cannot be encoded.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        Ok(Zeroizing::new(self.pkcs8_der()?.as_bytes().to_vec()))
    }

    fn pkcs8_der(&self) -> Result<SecretDocument, Error> {
        let doc = match &self.key {
            SoftKey::P256(k) => k.to_pkcs8_der(),
            SoftKey::P384(k) => k.to_pkcs8_der(),
            SoftKey::P521(k) => k.to_pkcs8_der(),
            SoftKey::Rsa(k) => k.to_pkcs8_der(),
        };
        doc.map_err(|e| Error::Encode(format!("PKCS#8: {e}")))
    }

    /// The key as PKCS#8 `ENCRYPTED PRIVATE KEY` PEM (PBES2, scrypt,
    /// AES-256-CBC).
    ///
    /// # Errors
    /// [`Error::EmptySecret`] for an empty passphrase, [`Error::Rng`] or
    /// [`Error::Encode`] if encryption fails.
    pub fn to_encrypted_pem(&self, passphrase: &Secret) -> Result<Zeroizing<String>, Error> {
        if passphrase.is_empty() {
            return Err(Error::EmptySecret {
                origin: "the caller".to_owned(),
            });
        }
        let der = self.pkcs8_der()?;
        let info = PrivateKeyInfoRef::try_from(der.as_bytes())
            .map_err(|e| Error::Encode(format!("PKCS#8: {e}")))?;
        let params = pkcs8::pkcs5::pbes2::Parameters::generate_scrypt(&mut SysRng)
            .map_err(|_| Error::Rng)?;
        let encrypted = info
            .encrypt_with_params(params, passphrase.expose())
            .map_err(|e| Error::Encode(format!("PKCS#8 encryption: {e}")))?;
        encrypted
            .to_pem(LABEL_PKCS8_ENCRYPTED, LineEnding::LF)
            .map_err(|e| Error::Encode(format!("PEM: {e}")))
    }

    /// The key as unencrypted PKCS#8 `PRIVATE KEY` PEM. Only for callers that
    /// explicitly want an unprotected key.
    ///
    /// # Errors
    /// [`Error::Encode`] if encoding fails.
    pub fn to_unencrypted_pem(&self) -> Result<Zeroizing<String>, Error> {
        self.pkcs8_der()?
            .to_pem(LABEL_PKCS8, LineEnding::LF)
            .map_err(|e| Error::Encode(format!("PEM: {e}")))
    }

    /// Write the key, encrypted with the passphrase read from `passphrase`,
    /// to a new file at `path` with mode 0600.
    ///
    /// # Errors
    /// [`Error::KeyFileExists`] if `path` exists (it is left untouched),
    /// [`Error::Io`] if writing fails (a partial file is removed), and the
    /// errors of [`SecretSource::read`] and [`FileKey::to_encrypted_pem`].
    pub fn store(&self, path: &Path, passphrase: &SecretSource) -> Result<(), Error> {
        let pem = self.to_encrypted_pem(&passphrase.read()?)?;
        write_new_private_file(path, pem.as_bytes())
    }

    /// Write the key **unencrypted** to a new file at `path` with mode 0600.
    ///
    /// # Errors
    /// As [`FileKey::store`].
    pub fn store_unencrypted(&self, path: &Path) -> Result<(), Error> {
        let pem = self.to_unencrypted_pem()?;
        write_new_private_file(path, pem.as_bytes())
    }

    /// Read an encrypted PKCS#8 key file, decrypting it with the passphrase
    /// read from `passphrase`. The key signs with its type's default scheme;
    /// change it with [`FileKey::with_scheme`].
    ///
    /// # Errors
    /// [`Error::UnencryptedKey`] if the file holds an unencrypted key (use
    /// [`FileKey::load_unencrypted`]), [`Error::WrongPassphrase`],
    /// [`Error::TruncatedPem`], [`Error::MalformedKey`],
    /// [`Error::UnsupportedKey`], [`Error::Io`] and the errors of
    /// [`SecretSource::read`].
    pub fn load(path: &Path, passphrase: &SecretSource) -> Result<Self, Error> {
        let pem = read_private_file(path)?;
        let block = find_private_key_block(&pem)?;
        if block.label != LABEL_PKCS8_ENCRYPTED {
            return Err(Error::UnencryptedKey {
                origin: path.display().to_string(),
            });
        }
        let secret = passphrase.read()?;
        decode_block(&block, Some(&secret))
    }

    /// Read an **unencrypted** key file (PKCS#8, SEC1 or PKCS#1 PEM).
    ///
    /// # Errors
    /// [`Error::PassphraseRequired`] if the key is encrypted, and otherwise
    /// as [`FileKey::load`].
    pub fn load_unencrypted(path: &Path) -> Result<Self, Error> {
        let pem = read_private_file(path)?;
        let block = find_private_key_block(&pem)?;
        decode_block(&block, None)
    }

    /// Decode a PEM private key of any supported form: PKCS#8 (`PRIVATE
    /// KEY`, or `ENCRYPTED PRIVATE KEY` with `passphrase`), SEC1 (`EC PRIVATE
    /// KEY`) or PKCS#1 (`RSA PRIVATE KEY`). A leading `EC PARAMETERS` block
    /// (as `openssl ecparam -genkey` writes) is skipped.
    ///
    /// # Errors
    /// [`Error::PassphraseRequired`], [`Error::WrongPassphrase`],
    /// [`Error::TruncatedPem`], [`Error::MalformedKey`],
    /// [`Error::UnsupportedKey`].
    pub fn from_pem(pem: &[u8], passphrase: Option<&Secret>) -> Result<Self, Error> {
        let block = find_private_key_block(pem)?;
        decode_block(&block, passphrase)
    }

    /// Import an existing PEM key file of any supported form (see
    /// [`FileKey::from_pem`]) and store it encrypted at `dest` (mode 0600,
    /// never over an existing file). `source_passphrase` is only needed if
    /// the source is an encrypted PKCS#8 key.
    ///
    /// # Errors
    /// Those of [`FileKey::from_pem`] and [`FileKey::store`].
    pub fn import(
        source: &Path,
        source_passphrase: Option<&SecretSource>,
        dest: &Path,
        dest_passphrase: &SecretSource,
    ) -> Result<Self, Error> {
        let pem = read_private_file(source)?;
        let source_secret = source_passphrase.map(SecretSource::read).transpose()?;
        let key = Self::from_pem(&pem, source_secret.as_ref())?;
        key.store(dest, dest_passphrase)?;
        Ok(key)
    }
}

impl SigningKey for FileKey {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.sig_alg
    }

    fn hash(&self) -> HashAlg {
        self.scheme.hash()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        #[cfg(feature = "aws-lc")]
        if let Some(fast) = &self.fast {
            return fast.sign(message);
        }
        self.sign_rust_crypto(message)
    }

    fn signatures_need_verifying(&self) -> bool {
        false
    }
}

impl FileKey {
    /// Signs with the RustCrypto crates (the `pure-rust` build, and the
    /// schemes aws-lc-rs has no algorithm for).
    fn sign_rust_crypto(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let digest = self.scheme.hash().digest(message);
        let ecdsa_err = |e: signature::Error| Error::Sign(format!("ECDSA: {e}"));
        match (&self.key, self.scheme) {
            (SoftKey::P256(k), SignatureScheme::Ecdsa(_)) => {
                let sig: p256::ecdsa::DerSignature = k.sign_prehash(&digest).map_err(ecdsa_err)?;
                Ok(sig.as_bytes().to_vec())
            }
            (SoftKey::P384(k), SignatureScheme::Ecdsa(_)) => {
                let sig: p384::ecdsa::DerSignature = k.sign_prehash(&digest).map_err(ecdsa_err)?;
                Ok(sig.as_bytes().to_vec())
            }
            (SoftKey::P521(k), SignatureScheme::Ecdsa(_)) => {
                let sig: p521::ecdsa::DerSignature = k.sign_prehash(&digest).map_err(ecdsa_err)?;
                Ok(sig.as_bytes().to_vec())
            }
            (SoftKey::Rsa(k), SignatureScheme::RsaPkcs1v15(h)) => {
                let padding = match h {
                    HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                k.sign(padding, &digest)
                    .map_err(|e| Error::Sign(format!("RSA PKCS#1 v1.5: {e}")))
            }
            (SoftKey::Rsa(k), SignatureScheme::RsaPss(h)) => {
                // `Pss::new` uses a salt as long as the digest, matching the
                // saltLength in our RSASSA-PSS-params.
                let sig = match h {
                    HashAlg::Sha256 => k.sign(rsa::Pss::<sha2::Sha256>::new(), &digest),
                    HashAlg::Sha384 => k.sign(rsa::Pss::<sha2::Sha384>::new(), &digest),
                    HashAlg::Sha512 => k.sign(rsa::Pss::<sha2::Sha512>::new(), &digest),
                };
                sig.map_err(|e| Error::Sign(format!("RSA-PSS: {e}")))
            }
            (_, scheme) => Err(Error::IncompatibleScheme {
                scheme,
                key: self.spec,
            }),
        }
    }
}

fn generate_rsa(bits: usize) -> Result<SoftKey, Error> {
    // `RsaPrivateKey::new` wants an infallible RNG. `UnwrapErr` panics only
    // if getrandom(2) itself fails, which on Linux means the kernel cannot
    // provide entropy at all.
    let key = rsa::RsaPrivateKey::new(&mut UnwrapErr(SysRng), bits)
        .map_err(|e| Error::KeyGeneration(e.to_string()))?;
    Ok(SoftKey::Rsa(Box::new(key)))
}

/// Create `path` (which must not exist) with mode 0600 and write `contents`.
fn write_new_private_file(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let io_err = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::KeyFileExists {
                    path: path.to_owned(),
                }
            } else {
                io_err(e)
            }
        })?;
    // `mode` is filtered by the umask; make the result exactly 0600 whatever
    // the umask was, then write.
    let written = file
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(contents))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        // We created the file, so removing a partial one is ours to do.
        let _ = std::fs::remove_file(path);
        return Err(io_err(e));
    }
    Ok(())
}

fn read_private_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    let io_err = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let hint = file
        .metadata()
        .ok()
        .and_then(|m| usize::try_from(m.len()).ok())
        .unwrap_or(0);
    let mut buf = Zeroizing::new(Vec::with_capacity(hint.saturating_add(1)));
    file.read_to_end(&mut buf).map_err(io_err)?;
    Ok(buf)
}

/// One PEM block: its label and its text from `-----BEGIN` to `-----END ...-----`.
struct PemBlock<'a> {
    label: &'a str,
    text: &'a [u8],
}

/// Split PEM text into blocks, reporting a BEGIN without its END as truncation.
fn pem_blocks(data: &[u8]) -> Result<Vec<PemBlock<'_>>, Error> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const DASHES: &[u8] = b"-----";
    let mut blocks = Vec::new();
    let mut pos = 0;
    while let Some(start) = find(&data[pos..], BEGIN).map(|i| i + pos) {
        let after = start + BEGIN.len();
        let label_end = find(&data[after..], DASHES)
            .map(|i| i + after)
            .ok_or_else(|| Error::TruncatedPem("the BEGIN line is incomplete".to_owned()))?;
        let label = std::str::from_utf8(&data[after..label_end])
            .map_err(|_| Error::MalformedKey("PEM label is not UTF-8".to_owned()))?;
        let end_line = format!("-----END {label}-----");
        let end = find(&data[label_end..], end_line.as_bytes())
            .map(|i| i + label_end + end_line.len())
            .ok_or_else(|| Error::TruncatedPem(format!("no \"{end_line}\" line")))?;
        blocks.push(PemBlock {
            label,
            text: &data[start..end],
        });
        pos = end;
    }
    Ok(blocks)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first private-key block in `data`.
fn find_private_key_block(data: &[u8]) -> Result<PemBlock<'_>, Error> {
    let blocks = pem_blocks(data)?;
    let mut unsupported = None;
    for block in blocks {
        match block.label {
            LABEL_PKCS8 | LABEL_PKCS8_ENCRYPTED | LABEL_SEC1 | LABEL_PKCS1 => return Ok(block),
            LABEL_EC_PARAMETERS => {}
            other if other.ends_with("PRIVATE KEY") => {
                unsupported.get_or_insert_with(|| other.to_owned());
            }
            _ => {}
        }
    }
    Err(match unsupported {
        Some(label) => Error::UnsupportedKey(format!(
            "\"{label}\" PEM blocks are not read; convert the key to PKCS#8"
        )),
        None => Error::MalformedKey("no PEM private key block found".to_owned()),
    })
}

fn pem_error(e: der::pem::Error) -> Error {
    match e {
        der::pem::Error::HeaderDisallowed => Error::UnsupportedKey(
            "legacy OpenSSL-encrypted PEM (Proc-Type header); convert it with `openssl pkcs8 -topk8`"
                .to_owned(),
        ),
        der::pem::Error::PostEncapsulationBoundary => {
            Error::TruncatedPem("the END line is missing or damaged".to_owned())
        }
        other => Error::MalformedKey(format!("PEM: {other}")),
    }
}

fn der_error(what: &str, e: &der::Error) -> Error {
    match e.kind() {
        der::ErrorKind::Incomplete { .. } => {
            Error::TruncatedPem(format!("{what} ends before its DER structure does"))
        }
        _ => Error::MalformedKey(format!("{what}: {e}")),
    }
}

fn pkcs8_error(what: &str, e: pkcs8::Error) -> Error {
    match e {
        pkcs8::Error::Asn1(e) => der_error(what, &e),
        other => Error::MalformedKey(format!("{what}: {other}")),
    }
}

fn decode_block(block: &PemBlock<'_>, passphrase: Option<&Secret>) -> Result<FileKey, Error> {
    let (_, der) = der::pem::decode_vec(block.text).map_err(pem_error)?;
    let der = Zeroizing::new(der);
    let key = match block.label {
        LABEL_PKCS8 => decode_pkcs8(&der)?,
        LABEL_PKCS8_ENCRYPTED => {
            let passphrase = passphrase.ok_or(Error::PassphraseRequired)?;
            let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
                .map_err(|e| pkcs8_error("encrypted PKCS#8 key", e))?;
            let plain = info.decrypt(passphrase.expose()).map_err(decrypt_error)?;
            // A wrong passphrase that happens to leave valid CBC padding (one
            // time in 256) decrypts to garbage: that is a wrong passphrase too.
            PrivateKeyInfoRef::try_from(plain.as_bytes()).map_err(|_| Error::WrongPassphrase)?;
            decode_pkcs8(plain.as_bytes())?
        }
        LABEL_SEC1 => decode_sec1(&der)?,
        LABEL_PKCS1 => {
            let key = rsa::RsaPrivateKey::from_pkcs1_der(&der).map_err(|e| match e {
                pkcs1::Error::Asn1(e) => der_error("PKCS#1 RSA key", &e),
                other => Error::MalformedKey(format!("PKCS#1 RSA key: {other}")),
            })?;
            SoftKey::Rsa(Box::new(key))
        }
        other => {
            return Err(Error::UnsupportedKey(format!("PEM label \"{other}\"")));
        }
    };
    FileKey::from_soft_key(key)
}

fn decrypt_error(e: pkcs8::Error) -> Error {
    use pkcs8::pkcs5::Error as P5;
    match e {
        pkcs8::Error::EncryptedPrivateKey(P5::DecryptFailed) | pkcs8::Error::Asn1(_) => {
            Error::WrongPassphrase
        }
        pkcs8::Error::EncryptedPrivateKey(P5::UnsupportedAlgorithm { oid }) => {
            Error::UnsupportedKey(format!("key encryption algorithm {oid}"))
        }
        pkcs8::Error::EncryptedPrivateKey(P5::NoPbes1CryptSupport) => {
            Error::UnsupportedKey("PBES1 key encryption".to_owned())
        }
        pkcs8::Error::EncryptedPrivateKey(P5::AlgorithmParametersInvalid { oid }) => {
            Error::UnsupportedKey(format!("key encryption parameters for {oid}"))
        }
        other => Error::MalformedKey(format!("encrypted PKCS#8 key: {other}")),
    }
}

fn decode_pkcs8(der: &[u8]) -> Result<SoftKey, Error> {
    let info = PrivateKeyInfoRef::try_from(der).map_err(|e| pkcs8_error("PKCS#8 key", e))?;
    let oid = info.algorithm.oid;
    let malformed = |e: pkcs8::Error| Error::MalformedKey(format!("PKCS#8 key: {e}"));
    if oid == ID_EC_PUBLIC_KEY {
        let curve = info
            .algorithm
            .parameters_oid()
            .map_err(|_| Error::UnsupportedKey("EC key without a named curve".to_owned()))?;
        let spec = KeySpec::from_curve_oid(&curve)
            .ok_or_else(|| Error::UnsupportedKey(format!("EC curve {curve}")))?;
        Ok(match spec {
            KeySpec::P256 => SoftKey::P256(info.try_into().map_err(malformed)?),
            KeySpec::P384 => SoftKey::P384(info.try_into().map_err(malformed)?),
            _ => SoftKey::P521(info.try_into().map_err(malformed)?),
        })
    } else if oid == RSA_ENCRYPTION {
        let key = rsa::RsaPrivateKey::try_from(info).map_err(malformed)?;
        Ok(SoftKey::Rsa(Box::new(key)))
    } else {
        Err(Error::UnsupportedKey(format!("key algorithm {oid}")))
    }
}

fn decode_sec1(der: &[u8]) -> Result<SoftKey, Error> {
    let ec = sec1::EcPrivateKey::try_from(der).map_err(|e| match e {
        sec1::Error::Asn1(e) => der_error("SEC1 EC key", &e),
        other => Error::MalformedKey(format!("SEC1 EC key: {other}")),
    })?;
    let curve = ec
        .parameters
        .and_then(sec1::EcParameters::named_curve)
        .ok_or_else(|| {
            Error::UnsupportedKey("SEC1 EC key without a named curve parameter".to_owned())
        })?;
    let spec = KeySpec::from_curve_oid(&curve)
        .ok_or_else(|| Error::UnsupportedKey(format!("EC curve {curve}")))?;
    let malformed = |e| Error::MalformedKey(format!("SEC1 EC key: {e}"));
    Ok(match spec {
        KeySpec::P256 => SoftKey::P256(
            p256::SecretKey::from_sec1_der(der)
                .map_err(malformed)?
                .into(),
        ),
        KeySpec::P384 => SoftKey::P384(
            p384::SecretKey::from_sec1_der(der)
                .map_err(malformed)?
                .into(),
        ),
        _ => SoftKey::P521(
            p521::SecretKey::from_sec1_der(der)
                .map_err(malformed)?
                .into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_splitting() {
        let two = b"junk\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let blocks = pem_blocks(two).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].label, "EC PRIVATE KEY");
        assert_eq!(find_private_key_block(two).unwrap().label, "EC PRIVATE KEY");

        let cut =
            b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n";
        assert!(matches!(pem_blocks(cut), Err(Error::TruncatedPem(_))));

        let none = b"hello";
        assert!(matches!(
            find_private_key_block(none),
            Err(Error::MalformedKey(_))
        ));
        let ssh = b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        assert!(matches!(
            find_private_key_block(ssh),
            Err(Error::UnsupportedKey(_))
        ));
    }

    #[test]
    fn p521_rejects_sha256() {
        let key = FileKey::generate(KeySpec::P521).unwrap();
        assert!(matches!(
            key.with_scheme(SignatureScheme::Ecdsa(HashAlg::Sha256)),
            Err(Error::IncompatibleScheme { .. })
        ));
    }
}
