//! Wrapping the SOPS data key to age X25519 recipients and unwrapping it with identities, one
//! armored age file per recipient, as sops stores them. Stable sealing derives every random
//! input of the age file from a caller's seed instead (see [`wrap_derived`]).

use super::identity::Identities;
use super::sops::metadata::AgeKey;
use super::sops::DataKey;
use super::SecretsError;
use age::armor::{ArmoredReader, ArmoredWriter, Format};
use base64::engine::general_purpose::{STANDARD as B64, STANDARD_NO_PAD as B64_NOPAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::{Read, Write};
use std::str::FromStr;

/// A parsed age recipient: X25519 (`age1...`) or SSH (`ssh-ed25519 ...`, `ssh-rsa ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    text: String,
    /// The X25519 public key; `None` for SSH recipients.
    key: Option<[u8; 32]>,
}

impl Recipient {
    /// Parses `age1...` or an SSH public key line.
    ///
    /// # Errors
    /// Anything that is neither.
    pub fn parse(text: &str) -> Result<Recipient, SecretsError> {
        let text = text.trim();
        let bad = |why: &str| SecretsError::Recipient {
            recipient: text.to_string(),
            message: why.to_string(),
        };
        if text.starts_with("ssh-") {
            age::ssh::Recipient::from_str(text).map_err(|e| match e {
                age::ssh::ParseRecipientKeyError::Invalid(why) => bad(why),
                age::ssh::ParseRecipientKeyError::Unsupported(kind) => {
                    bad(&format!("unsupported SSH key type {kind}"))
                }
                _ => bad("unsupported SSH key"),
            })?;
            return Ok(Recipient {
                text: text.to_string(),
                key: None,
            });
        }
        age::x25519::Recipient::from_str(text).map_err(bad)?;
        let (hrp, data) = bech32::decode(text).map_err(|_| bad("invalid Bech32 encoding"))?;
        if hrp.as_str() != "age" {
            return Err(bad("not an age recipient"));
        }
        let key: [u8; 32] = data.try_into().map_err(|_| bad("wrong key length"))?;
        Ok(Recipient {
            text: text.to_string(),
            key: Some(key),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn age(&self) -> Box<dyn age::Recipient + Send> {
        match self.key {
            Some(_) => Box::new(
                age::x25519::Recipient::from_str(&self.text).expect("validated when parsed"),
            ),
            None => {
                Box::new(age::ssh::Recipient::from_str(&self.text).expect("validated when parsed"))
            }
        }
    }
}

/// Wraps the data key to each recipient with fresh randomness (what sops does).
///
/// # Errors
/// Only if the age library refuses to encrypt.
pub fn wrap(key: &DataKey, recipients: &[Recipient]) -> Result<Vec<AgeKey>, SecretsError> {
    recipients
        .iter()
        .map(|r| {
            let age_r = r.age();
            let enc = age::Encryptor::with_recipients(std::iter::once(
                age_r.as_ref() as &dyn age::Recipient
            ))
            .map_err(|e| SecretsError::Age(e.to_string()))?;
            let mut out = Vec::new();
            let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(io_age)?;
            let mut w = enc.wrap_output(armor).map_err(io_age)?;
            w.write_all(key.as_slice()).map_err(io_age)?;
            w.finish().and_then(|a| a.finish()).map_err(io_age)?;
            let enc = String::from_utf8(out).map_err(|e| SecretsError::Age(e.to_string()))?;
            Ok(AgeKey {
                recipient: r.text.clone(),
                enc,
            })
        })
        .collect()
}

fn io_age(e: std::io::Error) -> SecretsError {
    SecretsError::Age(e.to_string())
}

/// Opens the data key with whichever identity matches one of the file's age recipients.
///
/// # Errors
/// [`SecretsError::NoIdentity`] listing the recipients when none of ours fits.
pub fn unwrap(
    keys: &[AgeKey],
    ids: &Identities,
    foreign: Vec<String>,
) -> Result<DataKey, SecretsError> {
    for k in keys {
        let Ok(dec) = age::Decryptor::new_buffered(ArmoredReader::new(k.enc.as_bytes())) else {
            continue;
        };
        let Ok(mut r) = dec.decrypt(ids.iter()) else {
            continue;
        };
        let mut plain = zeroize::Zeroizing::new(Vec::new());
        if r.read_to_end(&mut plain).is_err() {
            continue;
        }
        if let Ok(bytes) = <[u8; 32]>::try_from(plain.as_slice()) {
            return Ok(DataKey::new(bytes));
        }
    }
    Err(SecretsError::NoIdentity {
        recipients: keys.iter().map(|k| k.recipient.clone()).collect(),
        identities: ids.sources().to_vec(),
        foreign,
    })
}

/// Wraps the data key to one recipient with every random input of the age file (file key,
/// ephemeral X25519 key, payload nonce) drawn from `seed`: same seed, same bytes. The result
/// is a standard age file that `age -d` and sops open. `seed` must be secret.
///
/// # Errors
/// SSH recipients: their stanzas are not derived (seal to `age1...` recipients).
pub fn wrap_derived(key: &DataKey, r: &Recipient, seed: &[u8; 32]) -> Result<AgeKey, SecretsError> {
    let Some(rkey) = r.key else {
        return Err(SecretsError::Recipient {
            recipient: r.text.clone(),
            message: "stable sealing supports age X25519 recipients (age1...) only".into(),
        });
    };
    let kdf = Hkdf::<Sha256>::new(Some(b"ferry/seal/age/v1"), seed);
    let expand = |label: &[u8], out: &mut [u8]| {
        let mut info = label.to_vec();
        info.extend_from_slice(&rkey);
        kdf.expand(&info, out).expect("HKDF output length is small");
    };
    let mut file_key = zeroize::Zeroizing::new([0u8; 16]);
    expand(b"file-key", file_key.as_mut_slice());
    let mut esk_bytes = zeroize::Zeroizing::new([0u8; 32]);
    expand(b"ephemeral", esk_bytes.as_mut_slice());
    let mut nonce = [0u8; 16];
    expand(b"nonce", &mut nonce);

    // X25519 recipient stanza (age-encryption.org/v1).
    let esk = x25519_dalek::StaticSecret::from(*esk_bytes);
    let epk = x25519_dalek::PublicKey::from(&esk);
    let shared = esk.diffie_hellman(&x25519_dalek::PublicKey::from(rkey));
    let mut salt = epk.as_bytes().to_vec();
    salt.extend_from_slice(&rkey);
    let mut wrap_key = zeroize::Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes())
        .expand(b"age-encryption.org/v1/X25519", wrap_key.as_mut_slice())
        .expect("32 bytes");
    let body = ChaCha20Poly1305::new(wrap_key.as_slice().into())
        .encrypt(&[0u8; 12].into(), file_key.as_slice())
        .expect("in-memory encryption");

    let mut header = format!(
        "age-encryption.org/v1\n-> X25519 {}\n",
        B64_NOPAD.encode(epk.as_bytes())
    );
    for chunk in B64_NOPAD.encode(&body).as_bytes().chunks(64) {
        header.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        header.push('\n');
    }
    header.push_str("---");
    let mut mac_key = [0u8; 32];
    Hkdf::<Sha256>::new(None, file_key.as_slice())
        .expand(b"header", &mut mac_key)
        .expect("32 bytes");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&mac_key).expect("any key length");
    mac.update(header.as_bytes());
    header.push(' ');
    header.push_str(&B64_NOPAD.encode(mac.finalize().into_bytes()));
    header.push('\n');

    // Payload: one final STREAM chunk holding the 32-byte data key.
    let mut payload_key = zeroize::Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&nonce), file_key.as_slice())
        .expand(b"payload", payload_key.as_mut_slice())
        .expect("32 bytes");
    let mut chunk_nonce = [0u8; 12];
    chunk_nonce[11] = 1; // counter 0, last chunk
    let sealed = ChaCha20Poly1305::new(payload_key.as_slice().into())
        .encrypt(&chunk_nonce.into(), key.as_slice())
        .expect("in-memory encryption");

    let mut binary = header.into_bytes();
    binary.extend_from_slice(&nonce);
    binary.extend_from_slice(&sealed);
    let mut enc = String::from("-----BEGIN AGE ENCRYPTED FILE-----\n");
    for chunk in B64.encode(&binary).as_bytes().chunks(64) {
        enc.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        enc.push('\n');
    }
    enc.push_str("-----END AGE ENCRYPTED FILE-----\n");
    Ok(AgeKey {
        recipient: r.text.clone(),
        enc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn identity() -> (Identities, Recipient) {
        let id = age::x25519::Identity::generate();
        let r = Recipient::parse(&id.to_public().to_string()).expect("parses");
        let ids = Identities::from_text(id.to_string().expose_secret(), "test").expect("loads");
        (ids, r)
    }

    #[test]
    fn wrap_then_unwrap() {
        let (ids, r) = identity();
        let key = DataKey::new([5; 32]);
        let wrapped = wrap(&key, std::slice::from_ref(&r)).expect("wraps");
        assert!(wrapped[0]
            .enc
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert_eq!(*unwrap(&wrapped, &ids, vec![]).expect("unwraps"), [5; 32]);
    }

    #[test]
    fn derived_wrapping_is_stable_and_opens_with_the_age_crate() {
        let (ids, r) = identity();
        let key = DataKey::new([6; 32]);
        let a = wrap_derived(&key, &r, &[1; 32]).expect("x25519");
        assert_eq!(a, wrap_derived(&key, &r, &[1; 32]).expect("x25519"));
        assert_ne!(a, wrap_derived(&key, &r, &[2; 32]).expect("x25519"));
        assert_eq!(*unwrap(&[a], &ids, vec![]).expect("unwraps"), [6; 32]);
    }

    #[test]
    fn wrong_identity_lists_recipients() {
        let (_, r) = identity();
        let (other, _) = identity();
        let wrapped = wrap(&DataKey::new([5; 32]), std::slice::from_ref(&r)).expect("wraps");
        let err = unwrap(&wrapped, &other, vec![]).expect_err("refused");
        assert!(err.to_string().contains(r.as_str()), "{err}");
    }

    #[test]
    fn bad_recipient_is_named() {
        let err = Recipient::parse("age1nope").expect_err("refused");
        assert!(err.to_string().contains("age1nope"), "{err}");
    }
}
