//! Reading the `spec.verify` of an OCIRepository (or of a HelmChart of OCI charts) as ferry
//! can honour it offline: provider `cosign` with a `secretRef` (public keys, checked by
//! `ferry vendor --flux`). Keyless verification (Fulcio certificates, Rekor transparency log,
//! OIDC identities) and `notation` (X.509 trust stores and policies) need trust roots and a
//! network ferry does not have: they are refused by name, never skipped, since building what
//! Flux would refuse is worse than not building.

use crate::vendor::oci_verify::KeyedVerify;
use base64::Engine as _;
use serde_json::Value;

/// Finds a Secret the repository deploys: `(namespace, name)`.
pub type SecretLookup<'a> = dyn Fn(&str, &str) -> Option<Value> + 'a;

/// The `*.pub` entries of a Secret (`data`, base64, and `stringData`, as the API server merges
/// them), sorted by key.
fn public_keys(secret: &Value, what: &str) -> Result<Vec<(String, String)>, String> {
    let mut keys = std::collections::BTreeMap::new();
    if let Some(data) = secret["data"].as_object() {
        for (k, v) in data.iter().filter(|(k, _)| k.ends_with(".pub")) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default().trim())
                .map_err(|_| format!("{what}: data.{k} is not base64"))?;
            keys.insert(k.clone(), String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    if let Some(data) = secret["stringData"].as_object() {
        for (k, v) in data.iter().filter(|(k, _)| k.ends_with(".pub")) {
            keys.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    Ok(keys.into_iter().collect())
}

/// `spec.verify` of the OCIRepository `repo` (in `namespace`), `origin` naming it with its
/// file; `what` prefixes errors.
///
/// # Errors
/// `notation`, keyless `cosign`, an unknown provider, a Secret whose keys do not decode.
pub fn verify_of(
    repo: &Value,
    namespace: &str,
    (what, origin): (&str, &str),
    secret: &SecretLookup<'_>,
) -> Result<Option<KeyedVerify>, String> {
    let v = &repo["spec"]["verify"];
    if v.is_null() {
        return Ok(None);
    }
    // source-controller's default provider.
    let provider = v["provider"].as_str().unwrap_or("cosign");
    let secret_name = v["secretRef"]["name"].as_str().filter(|s| !s.is_empty());
    match (provider, secret_name) {
        ("cosign", Some(name)) => {
            let found = secret(namespace, name)
                .map(|s| public_keys(&s, &format!("{what}: spec.verify.secretRef: Secret {namespace}/{name}")))
                .transpose()?;
            Ok(Some(KeyedVerify {
                object: origin.to_string(),
                secret: format!("{namespace}/{name}"),
                keys: found,
            }))
        }
        ("cosign", None) => Err(format!(
            "{what}: spec.verify (provider cosign) has no secretRef: keyless verification{} needs Sigstore's trust roots (Fulcio, Rekor) and the network, which ferry does not use, and ferry does not build what it cannot verify\nhint: sign the artifact with a cosign key pair and set spec.verify.secretRef to a Secret holding its `cosign.pub`",
            if v["matchOIDCIdentity"].is_array() { " (spec.verify.matchOIDCIdentity)" } else { "" }
        )),
        ("notation", _) => Err(format!(
            "{what}: spec.verify.provider `notation` needs X.509 trust stores and a trust policy ferry does not evaluate, and ferry does not build what it cannot verify\nhint: sign the artifact with cosign (a key pair) and set spec.verify.provider: cosign with a secretRef, or build this Kustomization with Flux"
        )),
        (other, _) => Err(format!(
            "{what}: spec.verify.provider `{other}` is neither cosign nor notation"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo(verify: Value) -> Value {
        json!({"kind": "OCIRepository", "spec": {"url": "oci://r/x", "verify": verify}})
    }

    const WHAT: (&str, &str) = (
        "spec.sourceRef OCIRepository ns/apps",
        "OCIRepository ns/apps (s.yaml)",
    );

    #[test]
    fn keys_come_from_every_pub_entry_of_the_secret() {
        let secret = |ns: &str, name: &str| {
            (ns == "ns" && name == "cosign").then(|| {
                json!({"data": {"a.pub": "QQ==", "other": "Qg=="}, "stringData": {"b.pub": "B"}})
            })
        };
        let v = verify_of(
            &repo(json!({"provider": "cosign", "secretRef": {"name": "cosign"}})),
            "ns",
            WHAT,
            &secret,
        )
        .expect("ok")
        .expect("some");
        assert_eq!(v.secret, "ns/cosign");
        assert_eq!(v.object, "OCIRepository ns/apps (s.yaml)");
        assert_eq!(
            v.keys,
            Some(vec![
                ("a.pub".into(), "A".into()),
                ("b.pub".into(), "B".into())
            ])
        );
        // Not in the repository: the key must come from --verify-key.
        let v = verify_of(
            &repo(json!({"secretRef": {"name": "absent"}})),
            "ns",
            WHAT,
            &secret,
        )
        .expect("ok")
        .expect("some");
        assert_eq!(v.keys, None);
        assert_eq!(
            verify_of(&json!({"spec": {}}), "ns", WHAT, &secret),
            Ok(None)
        );
    }

    #[test]
    fn what_ferry_cannot_verify_is_refused_by_field() {
        let none = |_: &str, _: &str| None;
        let e = verify_of(
            &repo(json!({"provider": "cosign", "matchOIDCIdentity": [{"issuer": "x", "subject": "y"}]})),
            "ns",
            WHAT,
            &none,
        )
        .unwrap_err();
        assert!(e.starts_with("spec.sourceRef OCIRepository ns/apps: spec.verify (provider cosign) has no secretRef: keyless verification (spec.verify.matchOIDCIdentity)"), "{e}");
        assert!(
            e.contains("hint: sign the artifact with a cosign key pair"),
            "{e}"
        );
        let e = verify_of(
            &repo(json!({"provider": "notation", "secretRef": {"name": "n"}})),
            "ns",
            WHAT,
            &none,
        )
        .unwrap_err();
        assert!(e.contains("spec.verify.provider `notation`"), "{e}");
        let e = verify_of(&repo(json!({"provider": "gpg"})), "ns", WHAT, &none).unwrap_err();
        assert!(e.contains("`gpg` is neither cosign nor notation"), "{e}");
    }
}
