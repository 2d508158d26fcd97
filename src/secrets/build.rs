//! What `ferry build` does with secrets: repository files encrypted with sops are opened in
//! memory with the CI identity (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, the default keys file),
//! and every rendered `Secret` is sealed to the environment's recipients before anything is
//! written. Plaintext never reaches the disk, the render cache or a message.

use super::age::Recipient;
use super::identity::Identities;
use super::seal::{self, SealKey};
use super::sops::tree::{Branch, Value};
use super::sops::{self, metadata, Format};
use super::SecretsError;
use crate::manifest::Object;
use std::sync::OnceLock;

/// The CI's identities, loaded once per process.
pub fn ci_identities() -> Result<&'static Identities, SecretsError> {
    static IDS: OnceLock<Result<Identities, String>> = OnceLock::new();
    IDS.get_or_init(|| Identities::load(None).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| SecretsError::Identity {
            origin: "the CI identity".into(),
            message: e.clone(),
        })
}

/// Whether a YAML/JSON text is a sops-encrypted file (a top-level `sops:` with a MAC).
pub fn is_encrypted_text(text: &str) -> bool {
    text.contains("sops:")
        && text.contains("mac:")
        && Format::Yaml
            .parse(text)
            .is_ok_and(|d| sops::has_metadata(&d))
        || text.trim_start().starts_with('{')
            && text.contains("\"sops\"")
            && Format::Json
                .parse(text)
                .is_ok_and(|d| sops::has_metadata(&d))
}

/// Whether a rendered object is still sops-encrypted.
pub fn is_encrypted_object(v: &serde_json::Value) -> bool {
    v.get("sops").and_then(|s| s.get("mac")).is_some()
        && v.get("sops").and_then(|s| s.get("lastmodified")).is_some()
}

/// Decrypts a sops YAML file in memory (helm values) and returns the plaintext text.
///
/// # Errors
/// No identity fits, a tampered value, a MAC mismatch.
pub fn decrypt_text(text: &str) -> Result<zeroize::Zeroizing<String>, SecretsError> {
    super::decrypt(text, Format::Yaml, ci_identities()?)
}

fn to_branch(v: &serde_json::Value) -> Branch {
    match Value::from_json(v) {
        Value::Map(b) => b,
        _ => Vec::new(),
    }
}

fn to_json(b: &Branch) -> serde_json::Value {
    serde_json::Value::Object(super::sops::tree::branch_to_json(b))
}

/// Opens, in memory, every rendered object that is still sops-encrypted (kustomize and plain
/// apps pass encrypted manifests through).
///
/// # Errors
/// The first object that cannot be opened, named by kind and name.
pub fn open_objects(objects: &mut [Object]) -> Result<(), SecretsError> {
    for obj in objects.iter_mut() {
        if !is_encrypted_object(obj.value()) {
            continue;
        }
        let mut docs = vec![to_branch(obj.value())];
        let name = format!("{}/{}", obj.kind(), obj.name());
        let wrap = |e: SecretsError| SecretsError::Unsupported(format!("{name}: {e}"));
        let md = metadata::extract(&mut docs).map_err(|e| wrap(e.into()))?;
        let ids = ci_identities()?;
        let key = super::age::unwrap(&md.age, ids, md.foreign_key_groups()).map_err(wrap)?;
        sops::decrypt_docs(&mut docs, &key, &md).map_err(|e| wrap(e.into()))?;
        *obj.value_mut() = to_json(&docs[0]);
    }
    Ok(())
}

/// Whether an object is sealed by default: core `Secret`s.
pub fn must_seal(obj: &Object) -> bool {
    obj.kind() == "Secret" && obj.api_version() == "v1"
}

/// Seals every `Secret` for the environment's recipients (`encrypted_regex:
/// ^(data|stringData)$`), deterministically from the CI identity.
///
/// # Errors
/// Secrets in an environment without recipients, no CI identity, a bad recipient.
pub fn seal_objects(
    env: &str,
    recipients: &[String],
    objects: &mut [Object],
) -> Result<(), SecretsError> {
    if !objects.iter().any(must_seal) {
        return Ok(());
    }
    if recipients.is_empty() {
        return Err(SecretsError::Unsupported(format!(
            "environment `{env}` renders Secrets but has no `recipients`; ferry never writes a Secret in plaintext\nhint: add the cluster's age recipient under environments.{env}.recipients in ferry.yaml"
        )));
    }
    let recipients: Vec<Recipient> = recipients
        .iter()
        .map(|r| Recipient::parse(r))
        .collect::<Result<_, _>>()?;
    let ids = ci_identities()?;
    let key = SealKey::from_identities(ids).ok_or_else(|| SecretsError::Identity {
        origin: "the CI identity".into(),
        message: "none found; sealing needs one (set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY)".into(),
    })?;
    let selectors = seal::kubernetes_selectors();
    for obj in objects.iter_mut().filter(|o| must_seal(o)) {
        let sealed = seal::seal_docs(vec![to_branch(obj.value())], &recipients, &selectors, &key)?;
        *obj.value_mut() = to_json(&sealed[0]);
    }
    Ok(())
}
