//! Keyed fingerprints of secret values: HMAC-SHA256 under a key only the CI holds, cut short.
//! Reviewers can tell two changes apart; nobody without the key can confirm a guessed value,
//! which a plain hash would allow.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::{Path, PathBuf};

/// The environment variable that holds the key itself.
pub const KEY_ENV: &str = "FERRY_DIFF_KEY";
/// Shorter keys are refused: with a guessable key, the fingerprint is a plain hash again.
pub const MIN_KEY_BYTES: usize = 16;
/// Hex characters shown: 32 bits tell changes apart and say next to nothing about a value.
const SHOWN_HEX: usize = 8;
/// Domain separation, so the same key used elsewhere never yields the same MACs.
const DOMAIN: &[u8] = b"ferry diff fingerprint v1\0";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the fingerprint key file {}: {message}", file.display())]
    Read { file: PathBuf, message: String },
    #[error("the fingerprint key from {origin} is {len} bytes; at least {MIN_KEY_BYTES} are needed\nhint: generate one with `openssl rand -hex 32` and keep it in the CI's secret store")]
    TooShort { origin: String, len: usize },
}

/// The HMAC key. Its bytes are never printed, not even by `Debug`.
#[derive(Clone)]
pub struct FingerprintKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(<redacted>)")
    }
}

impl FingerprintKey {
    /// A key from raw bytes; `origin` names where they came from, for the error.
    pub fn new(bytes: &[u8], origin: &str) -> Result<FingerprintKey, KeyError> {
        let trimmed = trim_newline(bytes);
        if trimmed.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                origin: origin.to_string(),
                len: trimmed.len(),
            });
        }
        Ok(FingerprintKey {
            key: trimmed.to_vec(),
        })
    }

    /// The key from a file if one is given, else from `$FERRY_DIFF_KEY`, else none (and then no
    /// fingerprints are shown).
    pub fn discover(file: Option<&Path>) -> Result<Option<FingerprintKey>, KeyError> {
        if let Some(file) = file {
            let bytes = std::fs::read(file).map_err(|e| KeyError::Read {
                file: file.to_path_buf(),
                message: e.to_string(),
            })?;
            return FingerprintKey::new(&bytes, &file.display().to_string()).map(Some);
        }
        match std::env::var_os(KEY_ENV) {
            Some(v) if !v.is_empty() => {
                FingerprintKey::new(v.as_encoded_bytes(), &format!("${KEY_ENV}")).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// `hmac:` and the first hex characters of HMAC-SHA256(key, domain || value).
    pub fn fingerprint(&self, value: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(DOMAIN);
        mac.update(value);
        let full = hex::encode(mac.finalize().into_bytes());
        format!("hmac:{}", &full[..SHOWN_HEX])
    }
}

fn trim_newline(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_fingerprint_other_key_other_fingerprint() {
        let a = FingerprintKey::new(b"0123456789abcdef0123", "test").expect("long enough");
        let b = FingerprintKey::new(b"fedcba98765432100123", "test").expect("long enough");
        assert_eq!(a.fingerprint(b"hunter2"), a.fingerprint(b"hunter2"));
        assert_ne!(a.fingerprint(b"hunter2"), a.fingerprint(b"hunter3"));
        assert_ne!(a.fingerprint(b"hunter2"), b.fingerprint(b"hunter2"));
        assert_eq!(a.fingerprint(b"x").len(), "hmac:".len() + SHOWN_HEX);
    }

    #[test]
    fn short_keys_are_refused_without_showing_them() {
        let err = FingerprintKey::new(b"short-key\n", "$FERRY_DIFF_KEY").expect_err("too short");
        let text = err.to_string();
        assert!(text.contains("9 bytes"), "{text}");
        assert!(!text.contains("short-key"), "{text}");
    }

    #[test]
    fn trailing_newline_of_a_key_file_is_not_part_of_the_key() {
        let a = FingerprintKey::new(b"0123456789abcdef\n", "f").expect("ok");
        let b = FingerprintKey::new(b"0123456789abcdef", "f").expect("ok");
        assert_eq!(a.fingerprint(b"v"), b.fingerprint(b"v"));
        assert_eq!(format!("{a:?}"), "FingerprintKey(<redacted>)");
    }
}
