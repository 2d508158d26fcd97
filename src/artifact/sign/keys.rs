//! cosign's key files: `cosign.key` (an `ENCRYPTED SIGSTORE PRIVATE KEY` PEM holding the
//! password envelope around PKCS#8) and `cosign.pub` (a PKIX `PUBLIC KEY` PEM). ECDSA P-256.

use super::encrypted::{self, EnvelopeError};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::der::pem::{self, LineEnding};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand_core::OsRng;
use std::path::{Path, PathBuf};

/// The label cosign writes today.
pub const SIGSTORE_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The label older cosign versions wrote; read, never written.
pub const COSIGN_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}: {source}\nhint: the password comes from COSIGN_PASSWORD or the prompt", path.display())]
    Decrypt {
        path: PathBuf,
        #[source]
        source: EnvelopeError,
    },
}

/// A newly made key pair, as the two files' contents.
pub struct KeyPairFiles {
    /// `cosign.key`: the encrypted private key.
    pub private_pem: String,
    /// `cosign.pub`: the public key.
    pub public_pem: String,
}

/// Makes a P-256 key pair and seals the private half with `password`.
pub fn generate(password: &[u8]) -> KeyPairFiles {
    let key = SigningKey::random(&mut OsRng);
    encode_pair(&key, password)
}

/// The two files for an existing key.
pub fn encode_pair(key: &SigningKey, password: &[u8]) -> KeyPairFiles {
    let der = key.to_pkcs8_der().expect("a P-256 key encodes as PKCS#8");
    let envelope = encrypted::encrypt(der.as_bytes(), password);
    let private_pem = pem::encode_string(SIGSTORE_LABEL, LineEnding::LF, &envelope)
        .expect("PEM encoding cannot fail");
    KeyPairFiles {
        private_pem,
        public_pem: public_pem(key.verifying_key()),
    }
}

/// PKIX `PUBLIC KEY` PEM, as `cosign.pub` holds it.
pub fn public_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        .expect("a P-256 key encodes as SPKI")
}

/// Reads a private key: cosign's encrypted formats (with `password`), or an unencrypted PKCS#8
/// `PRIVATE KEY` / SEC1 `EC PRIVATE KEY` PEM.
///
/// # Errors
/// Not PEM, not P-256, wrong password.
pub fn parse_private(
    path: &Path,
    text: &str,
    password: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<SigningKey, KeyError> {
    let invalid = |message: String| KeyError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let (label, body) = pem::decode_vec(text.trim().as_bytes())
        .map_err(|e| invalid(format!("not a PEM key file: {e}")))?;
    match label {
        SIGSTORE_LABEL | COSIGN_LABEL => {
            let password = password().map_err(invalid)?;
            let der = encrypted::decrypt(&body, &password).map_err(|source| KeyError::Decrypt {
                path: path.to_path_buf(),
                source,
            })?;
            SigningKey::from_pkcs8_der(&der)
                .map_err(|e| invalid(format!("the decrypted key is not a P-256 PKCS#8 key: {e}")))
        }
        "PRIVATE KEY" => {
            SigningKey::from_pkcs8_der(&body).map_err(|e| invalid(format!("not a P-256 key: {e}")))
        }
        "EC PRIVATE KEY" => {
            let secret = p256::SecretKey::from_sec1_der(&body)
                .map_err(|e| invalid(format!("not a P-256 key: {e}")))?;
            Ok(SigningKey::from(secret))
        }
        other => Err(invalid(format!(
            "a {other:?} PEM block is not a private key ferry can use (want {SIGSTORE_LABEL})"
        ))),
    }
}

/// Reads a `PUBLIC KEY` PEM (cosign.pub).
///
/// # Errors
/// Not PEM, not a P-256 public key.
pub fn parse_public(path: &Path, text: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| KeyError::Invalid {
        path: path.to_path_buf(),
        message: format!("not a P-256 public key in PEM (PUBLIC KEY): {e}"),
    })
}

/// Reads a key file from disk.
pub fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pair_reads_back() {
        let files = generate(b"pw");
        assert!(files
            .private_pem
            .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(files.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let p = Path::new("cosign.key");
        let key = parse_private(p, &files.private_pem, || Ok(b"pw".to_vec())).expect("private");
        let public = parse_public(Path::new("cosign.pub"), &files.public_pem).expect("public");
        assert_eq!(key.verifying_key(), &public);
        let err = parse_private(p, &files.private_pem, || Ok(b"bad".to_vec()))
            .expect_err("wrong password");
        assert!(err.to_string().contains("wrong password"), "{err}");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = parse_public(Path::new("k.pub"), "hello").expect_err("garbage");
        assert!(
            err.to_string().starts_with("k.pub: not a P-256 public key"),
            "{err}"
        );
        let err = parse_private(Path::new("k.key"), "hello", || Ok(vec![])).expect_err("garbage");
        assert!(
            err.to_string().starts_with("k.key: not a PEM key file"),
            "{err}"
        );
    }
}
