//! DSSE (Dead Simple Signing Envelope) pieces: the pre-authentication encoding that is what
//! actually gets signed, and the in-toto statement a Sigstore image signature carries.

use super::payload::split_reference;
use crate::artifact::media_types as mt;
use serde_json::{json, Value};

/// DSSE's pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths
/// in ASCII decimal. Signing this (not the bare payload) binds the payload type too, so a
/// signature cannot be replayed as another type.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(
        format!(
            "DSSEv1 {} {payload_type} {} ",
            payload_type.len(),
            payload.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// The in-toto v1 statement cosign v3 signs for an image: the repository as the subject's name,
/// the manifest digest as its digest, the `cosign/sign/v1` predicate with nothing in it.
pub fn image_statement(repository: &str, digest: &str) -> Vec<u8> {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    let v = json!({
        "_type": mt::IN_TOTO_STATEMENT_V1,
        "subject": [{"name": repository, "digest": {algorithm: hex}}],
        "predicateType": mt::COSIGN_SIGN_PREDICATE,
        "predicate": {},
    });
    serde_json::to_vec(&v).expect("statement serialises")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatementError {
    #[error("the signed payload is not an in-toto statement: {0}")]
    Format(String),
    #[error("the signed statement is about {signed}, not about {wanted} (a bundle for another artifact)")]
    WrongDigest { signed: String, wanted: String },
    #[error("the signed statement's predicate is {0:?}, not an image signature ({pred})", pred = mt::COSIGN_SIGN_PREDICATE)]
    WrongPredicate(String),
    #[error("the bundle was made for repository {signed}, not {wanted}\nhint: a signature copied from another repository is not accepted")]
    WrongRepository { signed: String, wanted: String },
}

/// Checks that a verified statement signs `digest` (`sha256:<hex>`) as an image signature.
/// Any subject may carry the digest (a statement can speak of several artifacts). A subject
/// that names a repository (ferry's do) must name `repository`, under the same rule as a v2
/// signature's `docker-reference`; cosign v3 writes no name, and then the digest alone binds it.
///
/// # Errors
/// Not an in-toto statement, another predicate, no subject with this digest, another
/// repository.
pub fn check_statement(
    payload: &[u8],
    repository: &str,
    digest: &str,
) -> Result<(), StatementError> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| StatementError::Format(e.to_string()))?;
    let kind = v.get("_type").and_then(Value::as_str).unwrap_or_default();
    if kind != mt::IN_TOTO_STATEMENT_V1 && kind != mt::IN_TOTO_STATEMENT_V01 {
        return Err(StatementError::Format(format!("_type is {kind:?}")));
    }
    let predicate = v
        .get("predicateType")
        .and_then(Value::as_str)
        .ok_or_else(|| StatementError::Format("no predicateType".into()))?;
    if predicate != mt::COSIGN_SIGN_PREDICATE {
        return Err(StatementError::WrongPredicate(predicate.to_string()));
    }
    let subjects = v
        .get("subject")
        .and_then(Value::as_array)
        .ok_or_else(|| StatementError::Format("no subject list".into()))?;
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    let mut signed = Vec::new();
    for s in subjects {
        let Some(d) = s.get("digest").and_then(Value::as_object) else {
            continue;
        };
        match d.get(algorithm).and_then(Value::as_str) {
            Some(h) if h.eq_ignore_ascii_case(hex) => {
                let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
                if name.is_empty() || split_reference(name).0 == repository {
                    return Ok(());
                }
                return Err(StatementError::WrongRepository {
                    signed: name.to_string(),
                    wanted: repository.to_string(),
                });
            }
            Some(h) => signed.push(format!("{algorithm}:{h}")),
            None => signed.extend(d.keys().map(|k| format!("{k}:…"))),
        }
    }
    if signed.is_empty() {
        return Err(StatementError::Format("no subject has a digest".into()));
    }
    Err(StatementError::WrongDigest {
        signed: signed.join(", "),
        wanted: digest.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DSSE specification's own worked example.
    #[test]
    fn pae_matches_the_dsse_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn statement_round_trip_and_refusals() {
        let d = "sha256:0123abcd";
        let repo = "127.0.0.1:5000/platform/staging";
        let s = image_statement(repo, d);
        assert_eq!(
            String::from_utf8(s.clone()).expect("utf8"),
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"127.0.0.1:5000/platform/staging","digest":{"sha256":"0123abcd"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}"#
        );
        assert_eq!(check_statement(&s, repo, d), Ok(()));
        assert!(matches!(
            check_statement(&s, repo, "sha256:ffff"),
            Err(StatementError::WrongDigest { .. })
        ));
        assert!(matches!(
            check_statement(&s, "127.0.0.1:5000/platform/prod", d),
            Err(StatementError::WrongRepository { .. })
        ));
        // cosign v3's statement: no name, the digest binds it.
        let cosign = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"0123abcd"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}"#;
        assert_eq!(check_statement(cosign, repo, d), Ok(()));
        let tagged = String::from_utf8(s.clone())
            .expect("utf8")
            .replace(repo, &format!("{repo}:v1"));
        assert_eq!(check_statement(tagged.as_bytes(), repo, d), Ok(()));
        let other = String::from_utf8(s.clone())
            .expect("utf8")
            .replace("cosign/sign/v1", "provenance/v1");
        assert!(matches!(
            check_statement(other.as_bytes(), repo, d),
            Err(StatementError::WrongPredicate(_))
        ));
        for bad in [&b"[]"[..], b"{", b"{\"_type\":\"x\"}", b"\xff"] {
            assert!(
                matches!(
                    check_statement(bad, repo, d),
                    Err(StatementError::Format(_))
                ),
                "{bad:?}"
            );
        }
    }
}
