//! The simple-signing payload cosign signs, and the signature image that carries it in the
//! `sha256-<hex>.sig` tag.

use crate::artifact::media_types as mt;
use crate::artifact::oci_json::{descriptor, digest_of};
use serde_json::{json, Value};

/// The payload for `repository` (no tag, no digest) at `digest`, as cosign writes it.
pub fn simple_signing(repository: &str, digest: &str) -> Vec<u8> {
    let v = json!({
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": mt::COSIGN_PAYLOAD_TYPE,
        },
        "optional": {},
    });
    serde_json::to_vec(&v).expect("payload serialises")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("the signed payload is not cosign's simple-signing JSON: {0}")]
    Format(String),
    #[error("the signature is for {signed}, not for {wanted}")]
    WrongDigest { signed: String, wanted: String },
    #[error("the signature was made for repository {signed}, not {wanted}\nhint: a signature copied from another repository is not accepted")]
    WrongRepository { signed: String, wanted: String },
}

/// Checks that a verified payload speaks about `digest` in `repository`.
///
/// # Errors
/// Not a cosign payload, or about another image.
pub fn check(payload: &[u8], repository: &str, digest: &str) -> Result<(), PayloadError> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| PayloadError::Format(e.to_string()))?;
    let field = |ptr: &str| {
        v.pointer(ptr)
            .and_then(Value::as_str)
            .ok_or_else(|| PayloadError::Format(format!("no {ptr}")))
    };
    let kind = field("/critical/type")?;
    if kind != mt::COSIGN_PAYLOAD_TYPE {
        return Err(PayloadError::Format(format!("type is {kind:?}")));
    }
    let signed = field("/critical/image/docker-manifest-digest")?;
    if signed != digest {
        return Err(PayloadError::WrongDigest {
            signed: signed.into(),
            wanted: digest.into(),
        });
    }
    let reference = field("/critical/identity/docker-reference")?;
    let (signed_repository, signed_digest) = split_reference(reference);
    if let Some(d) = signed_digest {
        if d != digest {
            return Err(PayloadError::WrongDigest {
                signed: d.into(),
                wanted: digest.into(),
            });
        }
    }
    if signed_repository != repository {
        return Err(PayloadError::WrongRepository {
            signed: reference.into(),
            wanted: repository.into(),
        });
    }
    Ok(())
}

/// The repository a `docker-reference` names, and the digest it pins if any. cosign (and ferry)
/// write the bare `host/repository`; skopeo and containers/image write the reference they
/// copied to, `host/repository:tag`. The signature is checked against the pinned digest either
/// way, so the tag is only a name here, as under skopeo's `matchRepository` rule.
/// A malformed tag is kept, so the comparison fails.
pub(crate) fn split_reference(reference: &str) -> (&str, Option<&str>) {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let last = name.rfind('/').map_or(0, |i| i + 1);
    match name[last..].find(':') {
        Some(i) if valid_tag(&name[last + i + 1..]) => (&name[..last + i], digest),
        _ => (name, digest),
    }
}

/// The distribution grammar for a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// The config blob of a signature image, shaped like cosign's (an empty image config whose
/// only layer is the payload).
pub fn signature_config(payload_digests: &[String]) -> Vec<u8> {
    let v = json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": payload_digests.iter().map(|_| json!({"created": "0001-01-01T00:00:00Z"})).collect::<Vec<_>>(),
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": payload_digests},
        "config": {},
    });
    serde_json::to_vec(&v).expect("config serialises")
}

/// One signature layer: the payload blob it names and the base64 signature over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureEntry {
    pub payload_digest: String,
    pub payload_size: u64,
    pub signature_b64: String,
}

impl SignatureEntry {
    pub fn new(payload: &[u8], signature_b64: String) -> SignatureEntry {
        SignatureEntry {
            payload_digest: digest_of(payload),
            payload_size: payload.len() as u64,
            signature_b64,
        }
    }
}

/// The signature manifest holding `entries` (cosign appends one layer per signature), and the
/// config blob it names.
pub fn signature_manifest(entries: &[SignatureEntry]) -> (Vec<u8>, Vec<u8>) {
    let digests: Vec<String> = entries.iter().map(|e| e.payload_digest.clone()).collect();
    let config = signature_config(&digests);
    let layers: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "mediaType": mt::COSIGN_SIMPLESIGNING,
                "digest": e.payload_digest,
                "size": e.payload_size,
                "annotations": { mt::COSIGN_SIGNATURE_ANNOTATION: e.signature_b64 },
            })
        })
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": mt::OCI_MANIFEST,
        "config": descriptor(mt::OCI_CONFIG, &config),
        "layers": layers,
    });
    (
        serde_json::to_vec(&manifest).expect("manifest serialises"),
        config,
    )
}

/// The tag cosign keeps the signatures of `digest` under: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_cosigns_shape_and_checks() {
        let p = simple_signing("127.0.0.1:5000/platform/staging", "sha256:abc");
        assert_eq!(
            String::from_utf8(p.clone()).expect("utf8"),
            r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/platform/staging"},"image":{"docker-manifest-digest":"sha256:abc"},"type":"cosign container image signature"},"optional":{}}"#
        );
        assert_eq!(
            check(&p, "127.0.0.1:5000/platform/staging", "sha256:abc"),
            Ok(())
        );
        assert!(matches!(
            check(&p, "127.0.0.1:5000/platform/staging", "sha256:def"),
            Err(PayloadError::WrongDigest { .. })
        ));
        assert!(matches!(
            check(&p, "127.0.0.1:5000/platform/prod", "sha256:abc"),
            Err(PayloadError::WrongRepository { .. })
        ));
        assert!(matches!(
            check(b"{}", "r", "d"),
            Err(PayloadError::Format(_))
        ));
    }

    /// skopeo (containers/image) signs `host/repository:tag`, the reference it copied to; such a
    /// signature names the repository and must be accepted (it was refused as "made for
    /// repository 127.0.0.1:5000/platform/staging:v1").
    #[test]
    fn a_tagged_or_digested_reference_names_its_repository() {
        let repo = "127.0.0.1:5000/platform/staging";
        let with = |reference: &str| {
            let v = json!({
                "critical": {
                    "identity": {"docker-reference": reference},
                    "image": {"docker-manifest-digest": "sha256:abc"},
                    "type": mt::COSIGN_PAYLOAD_TYPE,
                },
                "optional": {"creator": "containers/image 5.34.2", "timestamp": 1_796_591_557},
            });
            check(&serde_json::to_vec(&v).expect("json"), repo, "sha256:abc")
        };
        assert_eq!(with("127.0.0.1:5000/platform/staging:v1"), Ok(()));
        assert_eq!(with("127.0.0.1:5000/platform/staging:latest"), Ok(()));
        assert_eq!(with("127.0.0.1:5000/platform/staging@sha256:abc"), Ok(()));
        assert_eq!(
            with("127.0.0.1:5000/platform/staging:v1@sha256:abc"),
            Ok(())
        );
        assert!(matches!(
            with("127.0.0.1:5000/platform/staging@sha256:def"),
            Err(PayloadError::WrongDigest { .. })
        ));
        for other in [
            "127.0.0.1:5000/platform/prod:v1",
            "127.0.0.1:5000/platform/staging-old:v1",
            "127.0.0.1:5000/platform/staging:",
            "127.0.0.1:5000/platform/staging:bad/tag",
            "127.0.0.1:5000/platform/staging:.dot",
            "127.0.0.1:5001/platform/staging:v1",
            "127.0.0.1:5000/platform:staging",
            "127.0.0.1:5000",
        ] {
            assert!(
                matches!(with(other), Err(PayloadError::WrongRepository { .. })),
                "{other}"
            );
        }
    }

    #[test]
    fn tag_name() {
        assert_eq!(signature_tag("sha256:0123"), "sha256-0123.sig");
    }
}
