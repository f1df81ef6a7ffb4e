//! The key derivation and key wraps of a PasswordRecipientInfo (RFC 5652
//! §6.2.4): PBKDF2 (RFC 8018 §5.2), AES key wrap (RFC 3394) and PWRI-KEK
//! with AES-CBC (RFC 3211 §2.3). Unwrapping answers `None` for every
//! failure, so that callers report one error for all of them.

use zeroize::Zeroizing;

use crate::identity::ProofHash;
use crate::{Error, Result};

/// PBKDF2 with `prf` (RFC 8018 §5.2).
pub(crate) fn derive(
    prf: ProofHash,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    match prf {
        ProofHash::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut out),
        ProofHash::Sha256 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
        }
        ProofHash::Sha384 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha384>(password, salt, iterations, &mut out);
        }
        ProofHash::Sha512 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, &mut out);
        }
    }
    out
}

pub(crate) fn aes_kw_unwrap(kek: &[u8], wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    use aes_kw::KeyInit;
    if wrapped.len() < 24 || wrapped.len() % 8 != 0 {
        return None;
    }
    let mut out = Zeroizing::new(vec![0u8; wrapped.len() - aes_kw::IV_LEN]);
    let ok = match kek.len() {
        16 => aes_kw::KwAes128::new_from_slice(kek)
            .ok()?
            .unwrap_key(wrapped, &mut out)
            .is_ok(),
        24 => aes_kw::KwAes192::new_from_slice(kek)
            .ok()?
            .unwrap_key(wrapped, &mut out)
            .is_ok(),
        32 => aes_kw::KwAes256::new_from_slice(kek)
            .ok()?
            .unwrap_key(wrapped, &mut out)
            .is_ok(),
        _ => false,
    };
    ok.then_some(out)
}

pub(crate) fn aes_kw_wrap(kek: &[u8], key: &[u8]) -> Result<Vec<u8>> {
    use aes_kw::KeyInit;
    let mut out = vec![0u8; key.len() + aes_kw::IV_LEN];
    let bad = |e: &dyn std::fmt::Debug| Error::Encode(format!("AES key wrap: {e:?}"));
    match kek.len() {
        16 => aes_kw::KwAes128::new_from_slice(kek)
            .map_err(|e| bad(&e))?
            .wrap_key(key, &mut out)
            .map(|_| ())
            .map_err(|e| bad(&e))?,
        24 => aes_kw::KwAes192::new_from_slice(kek)
            .map_err(|e| bad(&e))?
            .wrap_key(key, &mut out)
            .map(|_| ())
            .map_err(|e| bad(&e))?,
        _ => aes_kw::KwAes256::new_from_slice(kek)
            .map_err(|e| bad(&e))?
            .wrap_key(key, &mut out)
            .map(|_| ())
            .map_err(|e| bad(&e))?,
    }
    Ok(out)
}

/// An AES block cipher of any of the three key sizes.
pub(crate) enum Aes {
    A128(aes::Aes128),
    A192(aes::Aes192),
    A256(aes::Aes256),
}

impl Aes {
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        use aes::cipher::KeyInit;
        match key.len() {
            16 => aes::Aes128::new_from_slice(key).ok().map(Self::A128),
            24 => aes::Aes192::new_from_slice(key).ok().map(Self::A192),
            32 => aes::Aes256::new_from_slice(key).ok().map(Self::A256),
            _ => None,
        }
    }

    fn encrypt(&self, block: &mut [u8; 16]) {
        use aes::cipher::BlockCipherEncrypt;
        let mut b = aes::Block::from(*block);
        match self {
            Self::A128(c) => c.encrypt_block(&mut b),
            Self::A192(c) => c.encrypt_block(&mut b),
            Self::A256(c) => c.encrypt_block(&mut b),
        }
        block.copy_from_slice(&b);
    }

    fn decrypt(&self, block: &mut [u8; 16]) {
        use aes::cipher::BlockCipherDecrypt;
        let mut b = aes::Block::from(*block);
        match self {
            Self::A128(c) => c.decrypt_block(&mut b),
            Self::A192(c) => c.decrypt_block(&mut b),
            Self::A256(c) => c.decrypt_block(&mut b),
        }
        block.copy_from_slice(&b);
    }

    /// CBC encryption in place (`data` is whole blocks).
    pub(crate) fn cbc_encrypt(&self, iv: &[u8; 16], data: &mut [[u8; 16]]) {
        let mut prev = *iv;
        for block in data {
            for (b, p) in block.iter_mut().zip(prev) {
                *b ^= p;
            }
            self.encrypt(block);
            prev = *block;
        }
    }

    /// CBC decryption in place.
    pub(crate) fn cbc_decrypt(&self, iv: &[u8; 16], data: &mut [[u8; 16]]) {
        let mut prev = *iv;
        for block in data {
            let cipher = *block;
            self.decrypt(block);
            for (b, p) in block.iter_mut().zip(prev) {
                *b ^= p;
            }
            prev = cipher;
        }
    }
}

pub(crate) fn blocks(data: &[u8]) -> Vec<[u8; 16]> {
    data.chunks_exact(16)
        .map(|c| {
            let mut b = [0u8; 16];
            b.copy_from_slice(c);
            b
        })
        .collect()
}

/// RFC 3211 §2.3.2: undo the two CBC passes, then check the length octet
/// and the check value.
pub(crate) fn pwri_kek_unwrap(
    kek: &[u8],
    iv: &[u8; 16],
    wrapped: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if wrapped.len() < 32 || wrapped.len() % 16 != 0 {
        return None;
    }
    let cipher = Aes::new(kek)?;
    let mut b = Zeroizing::new(blocks(wrapped));
    let n = b.len();
    // The last block, with the block before it as IV, gives the IV of
    // the outer pass over the blocks before it.
    let mut last = b[n - 1];
    cipher.cbc_decrypt(&b[n - 2], std::slice::from_mut(&mut last));
    cipher.cbc_decrypt(&last, &mut b[..n - 1]);
    b[n - 1] = last;
    cipher.cbc_decrypt(iv, &mut b);
    let flat: Zeroizing<Vec<u8>> = Zeroizing::new(b.iter().flatten().copied().collect());
    let len = usize::from(flat[0]);
    let check = (flat[1] ^ flat[4]) & (flat[2] ^ flat[5]) & (flat[3] ^ flat[6]);
    if len < 3 || 4 + len > flat.len() || check != 0xff {
        return None;
    }
    Some(Zeroizing::new(flat[4..4 + len].to_vec()))
}

/// RFC 3211 §2.3.1: length octet, check value, key, random padding to at
/// least two blocks, then two CBC passes.
pub(crate) fn pwri_kek_wrap(kek: &[u8], iv: &[u8; 16], key: &[u8]) -> Result<Vec<u8>> {
    let cipher = Aes::new(kek).ok_or_else(|| Error::Encode("PWRI-KEK key size".into()))?;
    let len = u8::try_from(key.len())
        .ok()
        .filter(|l| *l >= 3)
        .ok_or_else(|| Error::Encode("PWRI-KEK: key of 3 to 255 octets".into()))?;
    let mut formatted = Zeroizing::new(vec![len, !key[0], !key[1], !key[2]]);
    formatted.extend_from_slice(key);
    let total = formatted.len().div_ceil(16).max(2) * 16;
    let mut pad = vec![0u8; total - formatted.len()];
    getrandom::fill(&mut pad).map_err(|e| Error::Encode(format!("random: {e}")))?;
    formatted.extend_from_slice(&pad);
    let mut b = Zeroizing::new(blocks(&formatted));
    cipher.cbc_encrypt(iv, &mut b);
    let outer_iv = b[b.len() - 1];
    cipher.cbc_encrypt(&outer_iv, &mut b);
    Ok(b.iter().flatten().copied().collect())
}
