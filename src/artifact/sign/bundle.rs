//! Sigstore bundles (v0.3, protobuf-specs' JSON form) holding a DSSE envelope around an in-toto
//! statement: what cosign v3 attaches to an image. Written and verified with a public key only,
//! offline: no transparency log entry, no certificate, no timestamp. A keyless bundle (a Fulcio
//! certificate, Rekor entries) is refused, because checking it needs a trusted root ferry does
//! not carry.

use super::dsse::{self, StatementError};
use crate::artifact::media_types as mt;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::EncodePublicKey;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// A statement larger than this is not an image signature (cosign's is ~250 bytes).
const MAX_PAYLOAD: usize = 64 << 10;

/// The key hint Sigstore clients write for a public key: base64 of the SHA-256 of its DER
/// SubjectPublicKeyInfo. Informative only: ferry tries every key it was given.
pub fn key_hint(key: &VerifyingKey) -> String {
    let der = key
        .to_public_key_der()
        .expect("a P-256 key encodes as SPKI");
    B64.encode(Sha256::digest(der.as_bytes()))
}

/// The bundle signing `digest` in `repository`: the JSON bytes, the same for the same key and
/// input (RFC 6979 signatures), so pushing twice writes nothing new.
pub fn sign_image(key: &SigningKey, repository: &str, digest: &str) -> Vec<u8> {
    let statement = dsse::image_statement(repository, digest);
    let signature = super::sign(key, &dsse::pae(mt::IN_TOTO_PAYLOAD_TYPE, &statement));
    let v = json!({
        "mediaType": mt::SIGSTORE_BUNDLE_V03,
        "verificationMaterial": {
            "publicKey": {"hint": key_hint(key.verifying_key())},
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": B64.encode(&statement),
            "payloadType": mt::IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": signature, "keyid": ""}],
        },
    });
    serde_json::to_vec(&v).expect("bundle serialises")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("not a Sigstore bundle: {0}")]
    Format(String),
    #[error("bundle media type {0:?} is not {want}", want = mt::SIGSTORE_BUNDLE_V03)]
    MediaType(String),
    #[error("the bundle holds a message signature, not a DSSE envelope (not an image signature)")]
    NotDsse,
    #[error("a keyless bundle (signed with a Fulcio certificate): ferry verifies bundles offline with a public key only; keyless verification is not supported\nhint: sign with a key (cosign sign --key, ferry push --key)")]
    Keyless,
    #[error("the DSSE payload type is {0:?}, not {want}", want = mt::IN_TOTO_PAYLOAD_TYPE)]
    PayloadType(String),
    #[error("the DSSE signature does not verify with the key it names (hint {0}): the payload or the signature was tampered with")]
    Tampered(String),
    #[error("signed by another key (hint {0}), not by any key given")]
    WrongKey(String),
    #[error(
        "the DSSE signature verifies with no key given: tampered with, or signed by another key"
    )]
    BadSignature,
    #[error(transparent)]
    Statement(#[from] StatementError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleJson {
    media_type: String,
    #[serde(default)]
    verification_material: Option<Material>,
    #[serde(default)]
    dsse_envelope: Option<Envelope>,
    #[serde(default)]
    message_signature: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Material {
    #[serde(default)]
    public_key: Option<PublicKeyId>,
    #[serde(default)]
    certificate: Option<serde_json::Value>,
    #[serde(default)]
    x509_certificate_chain: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PublicKeyId {
    #[serde(default)]
    hint: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    sig: String,
}

/// protobuf's JSON form takes standard or URL-safe base64, padded or not.
fn decode_b64(s: &str) -> Option<Vec<u8>> {
    B64.decode(s)
        .ok()
        .or_else(|| B64URL.decode(s.trim_end_matches('=')).ok())
}

/// What a verified bundle said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The hint of the key that verified it.
    pub key_hint: String,
}

/// Verifies a bundle for the manifest `digest` in `repository` with any of `keys`: media type, key material
/// (a public key, not a certificate), payload type, the DSSE signature over the
/// pre-authentication encoding, and only then what the statement says.
///
/// # Errors
/// [`BundleError`] names the first check that failed.
pub fn verify(
    bytes: &[u8],
    keys: &[VerifyingKey],
    repository: &str,
    digest: &str,
) -> Result<VerifiedBundle, BundleError> {
    let b: BundleJson =
        serde_json::from_slice(bytes).map_err(|e| BundleError::Format(e.to_string()))?;
    // v0.3 only: the older media types wrap keyless material ferry cannot check offline.
    if b.media_type != mt::SIGSTORE_BUNDLE_V03
        && b.media_type != "application/vnd.dev.sigstore.bundle+json;version=0.3"
    {
        return Err(BundleError::MediaType(b.media_type));
    }
    let material = b
        .verification_material
        .ok_or_else(|| BundleError::Format("no verificationMaterial".into()))?;
    let hint = match (
        material.public_key,
        material.certificate,
        material.x509_certificate_chain,
    ) {
        (Some(k), None, None) => k.hint,
        (None, Some(_), _) | (None, _, Some(_)) => return Err(BundleError::Keyless),
        _ => {
            return Err(BundleError::Format(
                "verificationMaterial names no single public key".into(),
            ))
        }
    };
    let env = match (b.dsse_envelope, b.message_signature) {
        (Some(e), None) => e,
        (None, Some(_)) => return Err(BundleError::NotDsse),
        _ => return Err(BundleError::Format("no single dsseEnvelope".into())),
    };
    if env.payload_type != mt::IN_TOTO_PAYLOAD_TYPE {
        return Err(BundleError::PayloadType(env.payload_type));
    }
    // Checked before decoding, so a huge payload costs no allocation.
    if env.payload.len() > MAX_PAYLOAD / 3 * 4 + 4 {
        return Err(BundleError::Format(format!(
            "the DSSE payload is over {MAX_PAYLOAD} bytes: not an image signature"
        )));
    }
    let payload = decode_b64(&env.payload)
        .ok_or_else(|| BundleError::Format("the DSSE payload is not base64".into()))?;
    let [signature] = env.signatures.as_slice() else {
        return Err(BundleError::Format(format!(
            "a bundle's envelope carries exactly one signature, this one {}",
            env.signatures.len()
        )));
    };
    let sig = decode_b64(&signature.sig)
        .ok_or_else(|| BundleError::Format("the DSSE signature is not base64".into()))?;
    let pae = dsse::pae(&env.payload_type, &payload);
    let sig_b64 = B64.encode(&sig);
    let Some(key) = keys.iter().find(|k| super::verify(k, &pae, &sig_b64)) else {
        let named = keys.iter().any(|k| key_hint(k) == hint);
        return Err(match (hint.is_empty(), named) {
            (true, _) => BundleError::BadSignature,
            (false, true) => BundleError::Tampered(hint),
            (false, false) => BundleError::WrongKey(hint),
        });
    };
    dsse::check_statement(&payload, repository, digest)?;
    Ok(VerifiedBundle {
        key_hint: key_hint(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const REPO: &str = "127.0.0.1:5000/platform/staging";
    const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn edit(bundle: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(bundle).expect("json");
        f(&mut v);
        serde_json::to_vec(&v).expect("json")
    }

    #[test]
    fn signs_verifies_and_says_why_it_refuses() {
        let key = super::super::new_signing_key();
        let other = super::super::new_signing_key();
        let pk = *key.verifying_key();
        let b = sign_image(&key, REPO, DIGEST);
        assert_eq!(b, sign_image(&key, REPO, DIGEST));
        assert!(verify(&b, &[pk], REPO, DIGEST).is_ok());
        assert!(verify(&b, &[*other.verifying_key(), pk], REPO, DIGEST).is_ok());
        assert!(matches!(
            verify(&b, &[*other.verifying_key()], REPO, DIGEST),
            Err(BundleError::WrongKey(_))
        ));
        assert!(matches!(
            verify(&b, &[pk], REPO, "sha256:00"),
            Err(BundleError::Statement(StatementError::WrongDigest { .. }))
        ));
        // Another statement under the old signature: refused as tampered.
        let forged = edit(&b, |v| {
            let s = dsse::image_statement(REPO, "sha256:00");
            v["dsseEnvelope"]["payload"] = B64.encode(s).into();
        });
        assert!(matches!(
            verify(&forged, &[pk], REPO, "sha256:00"),
            Err(BundleError::Tampered(_))
        ));
        let no_hint = edit(&forged, |v| {
            v["verificationMaterial"]["publicKey"]["hint"] = "".into();
        });
        assert_eq!(
            verify(&no_hint, &[pk], REPO, "sha256:00"),
            Err(BundleError::BadSignature)
        );
        // The payload type is signed too.
        let retyped = edit(&b, |v| {
            v["dsseEnvelope"]["payloadType"] = "text/plain".into()
        });
        assert!(matches!(
            verify(&retyped, &[pk], REPO, DIGEST),
            Err(BundleError::PayloadType(_))
        ));
        let keyless = edit(&b, |v| {
            v["verificationMaterial"] = json!({"certificate": {"rawBytes": "AAAA"}});
        });
        assert_eq!(
            verify(&keyless, &[pk], REPO, DIGEST),
            Err(BundleError::Keyless)
        );
        let message = edit(&b, |v| {
            let o = v.as_object_mut().expect("object");
            o.remove("dsseEnvelope");
            o.insert("messageSignature".into(), json!({}));
        });
        assert_eq!(
            verify(&message, &[pk], REPO, DIGEST),
            Err(BundleError::NotDsse)
        );
        let old = edit(&b, |v| {
            v["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1".into();
        });
        assert!(matches!(
            verify(&old, &[pk], REPO, DIGEST),
            Err(BundleError::MediaType(_))
        ));
    }

    #[test]
    fn malformed_and_huge_input_is_a_format_error() {
        let key = super::super::new_signing_key();
        let pk = *key.verifying_key();
        let b = sign_image(&key, REPO, DIGEST);
        let huge = edit(&b, |v| {
            v["dsseEnvelope"]["payload"] = "A".repeat(8 << 20).into();
        });
        assert!(
            matches!(verify(&huge, &[pk], REPO, DIGEST), Err(BundleError::Format(m)) if m.contains("over"))
        );
        let two = edit(&b, |v| {
            let s = v["dsseEnvelope"]["signatures"][0].clone();
            v["dsseEnvelope"]["signatures"] = json!([s.clone(), s]);
        });
        assert!(matches!(
            verify(&two, &[pk], REPO, DIGEST),
            Err(BundleError::Format(_))
        ));
        let not_b64 = edit(&b, |v| v["dsseEnvelope"]["payload"] = "%%%".into());
        assert!(matches!(
            verify(&not_b64, &[pk], REPO, DIGEST),
            Err(BundleError::Format(_))
        ));
        for garbage in [&b""[..], b"null", b"[1]", b"{\"mediaType\":3}", &[0xff; 40]] {
            assert!(matches!(
                verify(garbage, &[pk], REPO, DIGEST),
                Err(BundleError::Format(_))
            ));
        }
    }
}
