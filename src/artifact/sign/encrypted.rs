//! The password envelope cosign keeps its private key in (`ENCRYPTED SIGSTORE PRIVATE KEY`):
//! scrypt derives a key from the password, NaCl secretbox (XSalsa20-Poly1305) seals the PKCS#8
//! bytes, and a JSON object carries the parameters, as go-securesystemslib's `encrypted` does.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

const SALT_SIZE: usize = 32;
const NONCE_SIZE: usize = 24;
const KEY_SIZE: usize = 32;
const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";
/// The parameters cosign's own key files have used (2^15, 8, 1): every cosign version reads them.
const WRITE_LOG_N: u8 = 15;
/// Readers accept the legacy, standard and OWASP strengths and nothing else, so a tampered
/// file cannot make us spend minutes or gigabytes deriving a key.
const ACCEPTED_N: [u64; 3] = [1 << 15, 1 << 16, 1 << 17];

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the encrypted key is not the JSON envelope cosign writes: {0}")]
    Format(String),
    #[error("wrong password, or the key file is damaged")]
    Decrypt,
}

#[derive(Serialize, Deserialize)]
struct Params {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: Params,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Field order and names as Go's `encoding/json` writes the envelope.
#[derive(Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

fn derive(
    password: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
) -> Result<[u8; KEY_SIZE], EnvelopeError> {
    let params = scrypt::Params::new(log_n, r, p, KEY_SIZE)
        .map_err(|e| EnvelopeError::Format(e.to_string()))?;
    let mut key = [0u8; KEY_SIZE];
    scrypt::scrypt(password, salt, &params, &mut key)
        .map_err(|e| EnvelopeError::Format(e.to_string()))?;
    Ok(key)
}

/// Seals `plaintext` with `password`; returns the JSON envelope.
pub fn encrypt(plaintext: &[u8], password: &[u8]) -> Vec<u8> {
    let mut salt = [0u8; SALT_SIZE];
    let mut nonce = [0u8; NONCE_SIZE];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let key =
        derive(password, &salt, WRITE_LOG_N, 8, 1).expect("fixed scrypt parameters are valid");
    let cipher = XSalsa20Poly1305::new(&key.into());
    // RustCrypto's secretbox output is NaCl's: the Poly1305 tag, then the ciphertext.
    let sealed = cipher
        .encrypt(&nonce.into(), plaintext)
        .expect("secretbox encryption cannot fail");
    let env = Envelope {
        kdf: Kdf {
            name: KDF_NAME.into(),
            params: Params {
                n: 1 << WRITE_LOG_N,
                r: 8,
                p: 1,
            },
            salt: B64.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_NAME.into(),
            nonce: B64.encode(nonce),
        },
        ciphertext: B64.encode(sealed),
    };
    serde_json::to_vec(&env).expect("envelope serialises")
}

/// Opens an envelope written by [`encrypt`] or by cosign.
///
/// # Errors
/// A malformed envelope, unknown algorithms or parameters, a wrong password.
pub fn decrypt(envelope: &[u8], password: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let env: Envelope =
        serde_json::from_slice(envelope).map_err(|e| EnvelopeError::Format(e.to_string()))?;
    if env.kdf.name != KDF_NAME {
        return Err(EnvelopeError::Format(format!(
            "unknown kdf {:?}",
            env.kdf.name
        )));
    }
    if env.cipher.name != CIPHER_NAME {
        return Err(EnvelopeError::Format(format!(
            "unknown cipher {:?}",
            env.cipher.name
        )));
    }
    let Params { n, r, p } = env.kdf.params;
    if !ACCEPTED_N.contains(&n) || r != 8 || p != 1 {
        return Err(EnvelopeError::Format(format!(
            "unexpected scrypt parameters N={n} r={r} p={p}"
        )));
    }
    let b64 = |s: &str, what: &str| {
        B64.decode(s)
            .map_err(|e| EnvelopeError::Format(format!("{what}: {e}")))
    };
    let salt = b64(&env.kdf.salt, "salt")?;
    let nonce: [u8; NONCE_SIZE] = b64(&env.cipher.nonce, "nonce")?
        .try_into()
        .map_err(|_| EnvelopeError::Format("nonce is not 24 bytes".into()))?;
    let sealed = b64(&env.ciphertext, "ciphertext")?;
    let key = derive(password, &salt, n.trailing_zeros() as u8, r, p)?;
    let cipher = XSalsa20Poly1305::new(&key.into());
    cipher
        .decrypt(&nonce.into(), sealed.as_slice())
        .map_err(|_| EnvelopeError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_password() {
        let env = encrypt(b"secret key bytes", b"pw");
        let text = String::from_utf8(env.clone()).expect("utf8");
        assert!(
            text.starts_with(
                r#"{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":""#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#""cipher":{"name":"nacl/secretbox","nonce":""#),
            "{text}"
        );
        assert_eq!(decrypt(&env, b"pw").expect("decrypt"), b"secret key bytes");
        assert!(matches!(
            decrypt(&env, b"nope"),
            Err(EnvelopeError::Decrypt)
        ));
    }

    #[test]
    fn refuses_expensive_parameters() {
        let env = String::from_utf8(encrypt(b"x", b"pw"))
            .expect("utf8")
            .replace("32768", "1048576");
        let err = decrypt(env.as_bytes(), b"pw").expect_err("N too large");
        assert!(err.to_string().contains("scrypt parameters"), "{err}");
    }

    /// NaCl's secretbox layout (tag first) against the published test vector from the NaCl
    /// distribution (`tests/secretbox.c`): the first bytes of the box must match.
    #[test]
    fn secretbox_layout_is_nacl() {
        let key: [u8; 32] = [
            0x1b, 0x27, 0x55, 0x64, 0x73, 0xe9, 0x85, 0xd4, 0x62, 0xcd, 0x51, 0x19, 0x7a, 0x9a,
            0x46, 0xc7, 0x60, 0x09, 0x54, 0x9e, 0xac, 0x64, 0x74, 0xf2, 0x06, 0xc4, 0xee, 0x08,
            0x44, 0xf6, 0x83, 0x89,
        ];
        let nonce: [u8; 24] = [
            0x69, 0x69, 0x6e, 0xe9, 0x55, 0xb6, 0x2b, 0x73, 0xcd, 0x62, 0xbd, 0xa8, 0x75, 0xfc,
            0x73, 0xd6, 0x82, 0x19, 0xe0, 0x03, 0x6b, 0x7a, 0x0b, 0x37,
        ];
        let msg: [u8; 16] = [
            0xbe, 0x07, 0x5f, 0xc5, 0x3c, 0x81, 0xf2, 0xd5, 0xcf, 0x14, 0x13, 0x16, 0xeb, 0xeb,
            0x0c, 0x7b,
        ];
        let sealed = XSalsa20Poly1305::new(&key.into())
            .encrypt(&nonce.into(), msg.as_slice())
            .expect("seal");
        // Tag (16 bytes) then ciphertext: the NaCl vector's ciphertext starts 0x8e 0x99 0x3b 0x9f.
        assert_eq!(sealed.len(), 32);
        assert_eq!(&sealed[16..20], &[0x8e, 0x99, 0x3b, 0x9f]);
    }
}
