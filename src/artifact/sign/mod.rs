//! cosign-compatible signatures, ECDSA P-256 with cosign's key files, in two formats: cosign
//! v2's simple-signing payload in the `sha256-<hex>.sig` tag ([`payload`]), and cosign v3's
//! Sigstore bundle with a DSSE envelope, stored as an OCI 1.1 referrer ([`bundle`]).

pub mod bundle;
pub mod dsse;
pub mod encrypted;
pub mod keys;
pub mod payload;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::Signature;

pub use keys::{KeyError, KeyPairFiles};
/// The key types, so callers need no direct dependency on `p256`.
pub use p256::ecdsa::{SigningKey, VerifyingKey};
pub use payload::{signature_tag, PayloadError, SignatureEntry};

/// Which signature formats `push` writes. Verification reads both, always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureFormat {
    /// cosign v2: the `sha256-<hex>.sig` tag (skopeo, Flux before 2.8, cosign v2).
    V2,
    /// cosign v3: a Sigstore bundle v0.3 as an OCI 1.1 referrer (Flux 2.8+, cosign v3).
    Bundle,
    /// Both, so old and new verifiers find a signature they read.
    #[default]
    Both,
}

impl SignatureFormat {
    pub fn v2(self) -> bool {
        matches!(self, SignatureFormat::V2 | SignatureFormat::Both)
    }
    pub fn bundle(self) -> bool {
        matches!(self, SignatureFormat::Bundle | SignatureFormat::Both)
    }
}

/// A new random P-256 signing key (not written anywhere).
pub fn new_signing_key() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

/// Signs `payload` (SHA-256, ECDSA P-256, deterministic RFC 6979 nonces, so signing the same
/// payload twice gives the same bytes); returns the base64 of the ASN.1 DER signature.
pub fn sign(key: &SigningKey, payload: &[u8]) -> String {
    let sig: Signature = key.sign(payload);
    B64.encode(sig.to_der().as_bytes())
}

/// True when `signature_b64` is a valid signature of `payload` by `key`.
pub fn verify(key: &VerifyingKey, payload: &[u8], signature_b64: &str) -> bool {
    let Ok(der) = B64.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::from_der(&der) else {
        return false;
    };
    key.verify(payload, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn sign_verify_and_tamper() {
        let key = SigningKey::random(&mut OsRng);
        let other = SigningKey::random(&mut OsRng);
        let sig = sign(&key, b"payload");
        assert_eq!(sig, sign(&key, b"payload"), "deterministic");
        assert!(verify(key.verifying_key(), b"payload", &sig));
        assert!(!verify(key.verifying_key(), b"payloaD", &sig));
        assert!(!verify(other.verifying_key(), b"payload", &sig));
        assert!(!verify(key.verifying_key(), b"payload", "not base64!"));
    }

    /// Go's crypto/ecdsa (cosign, skopeo) does not normalise s: a high-S signature from it must
    /// verify here too, or half of cosign's signatures would be refused.
    #[test]
    fn high_s_signatures_verify() {
        let key = SigningKey::random(&mut OsRng);
        let sig: Signature = p256::ecdsa::signature::Signer::sign(&key, b"payload");
        let (r, s) = sig.split_scalars();
        let flipped =
            Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).expect("valid scalars");
        let b64 = B64.encode(flipped.to_der().as_bytes());
        assert!(verify(key.verifying_key(), b"payload", &b64));
    }
}
