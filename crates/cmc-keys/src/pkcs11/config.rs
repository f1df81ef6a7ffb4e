//! What the caller configures: which key ([`KeyLocator`], by `CKA_LABEL`
//! and/or `CKA_ID`) on which token of which module, where the PIN comes
//! from and how many sessions to keep ([`Pkcs11Config`]).

use std::fmt;
use std::path::PathBuf;

use cryptoki::object::{Attribute, ObjectClass};

use crate::{Error, SecretSource};

/// Which key on the token: by `CKA_LABEL`, by `CKA_ID`, or both (then
/// both must match).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyLocator {
    pub(super) label: Option<String>,
    pub(super) id: Option<Vec<u8>>,
}

impl KeyLocator {
    /// The key whose `CKA_LABEL` is `label`.
    #[must_use]
    pub fn label(label: impl Into<String>) -> Self {
        Self {
            label: Some(label.into()),
            id: None,
        }
    }

    /// The key whose `CKA_ID` is `id`.
    #[must_use]
    pub fn id(id: impl Into<Vec<u8>>) -> Self {
        Self {
            label: None,
            id: Some(id.into()),
        }
    }

    /// The key whose `CKA_ID` is the hex string `hex` (as `pkcs11-tool
    /// --id` takes it; an optional `0x` prefix and `:` separators are allowed).
    ///
    /// # Errors
    /// [`Error::Parse`] if `hex` is not an even number of hex digits.
    pub fn id_hex(hex: &str) -> Result<Self, Error> {
        Ok(Self::id(parse_hex(hex)?))
    }

    /// Also require this `CKA_ID`.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Also require this `CKA_LABEL`.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The label searched for, if any.
    #[must_use]
    pub fn label_str(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The id searched for, if any.
    #[must_use]
    pub fn id_bytes(&self) -> Option<&[u8]> {
        self.id.as_deref()
    }

    pub(super) fn template(&self, class: ObjectClass) -> Vec<Attribute> {
        let mut t = vec![Attribute::Class(class)];
        if let Some(label) = &self.label {
            t.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.id {
            t.push(Attribute::Id(id.clone()));
        }
        t
    }
}

impl fmt::Display for KeyLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.label, &self.id) {
            (Some(l), Some(id)) => write!(f, "label {l:?} and id {}", to_hex(id)),
            (Some(l), None) => write!(f, "label {l:?}"),
            (None, Some(id)) => write!(f, "id {}", to_hex(id)),
            (None, None) => f.write_str("no label or id"),
        }
    }
}

impl fmt::Debug for KeyLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyLocator({self})")
    }
}

fn to_hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

fn parse_hex(s: &str) -> Result<Vec<u8>, Error> {
    let bad = || Error::Parse {
        what: "key id",
        value: s.to_owned(),
        expected: "an even number of hex digits, e.g. 0a1b2c",
    };
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    // Key ids are often written with colons (0a:1b:2c).
    let digits: Vec<u8> = t.bytes().filter(|b| *b != b':').collect();
    match base16ct::mixed::decode_vec(&digits) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(bad()),
    }
}

/// Where a PKCS#11 key lives and how to log in to it.
#[derive(Clone, Debug)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module (for SoftHSM2,
    /// `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The token's label (`CK_TOKEN_INFO.label`, trailing blanks ignored).
    pub token_label: String,
    /// Which key on the token.
    pub key: KeyLocator,
    /// Where to read the user PIN.
    pub pin: SecretSource,
    /// How many sessions the key may keep open and logged in: the number of
    /// threads that will sign concurrently. At least 1.
    pub sessions: usize,
}

impl Pkcs11Config {
    /// A configuration with one session per available CPU.
    #[must_use]
    pub fn new(
        module: impl Into<PathBuf>,
        token_label: impl Into<String>,
        key: KeyLocator,
        pin: SecretSource,
    ) -> Self {
        Self {
            module: module.into(),
            token_label: token_label.into(),
            key,
            pin,
            sessions: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// Set the session pool size (the caller's worker count).
    #[must_use]
    pub fn with_sessions(mut self, sessions: usize) -> Self {
        self.sessions = sessions;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids() {
        assert_eq!(parse_hex("0a1B").unwrap(), vec![0x0a, 0x1b]);
        assert_eq!(parse_hex("0x01:02:ff").unwrap(), vec![1, 2, 0xff]);
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
        assert!(parse_hex("").is_err());
        assert_eq!(KeyLocator::id_hex("cafe").unwrap().to_string(), "id cafe");
    }
}
