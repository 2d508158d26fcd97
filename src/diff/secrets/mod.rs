//! Secrets in a diff: which objects hold them, what changed per key, and the redacted copy that
//! the text diff is made from. No function here returns, formats or logs a value: only key names,
//! statuses and keyed fingerprints leave this module.

mod decrypt;
mod fingerprint;

pub use decrypt::{DecryptError, SecretDecryptor};
pub use fingerprint::{FingerprintKey, KeyError, KEY_ENV, MIN_KEY_BYTES};

use super::report::{KeyChange, KeyStatus};
use super::SecretContext;
use crate::manifest::ObjRef;
use base64::Engine;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What every secret value is replaced with before a text diff is made.
pub const REDACTED: &str = "<redacted>";
/// An annotation `kubectl apply` writes, which repeats the whole object, secret values included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Which objects are secret: `Secret`, the configured kinds, and anything SOPS encrypted.
#[derive(Debug, Clone, Default)]
pub struct SecretPolicy {
    kinds: Vec<String>,
}

impl SecretPolicy {
    /// `kinds` as `Kind` (any group) or `Kind.group`.
    pub fn new(kinds: &[String]) -> SecretPolicy {
        SecretPolicy {
            kinds: kinds.to_vec(),
        }
    }

    /// Whether objects of this identity are secret by kind alone.
    pub fn is_secret_kind(&self, obj: &ObjRef) -> bool {
        is_core_secret(obj)
            || self
                .kinds
                .iter()
                .any(|k| *k == obj.group_kind() || (!k.contains('.') && *k == obj.kind))
    }

    /// Whether this object holds secrets: by kind, or because it carries a SOPS block.
    pub fn is_secret(&self, obj: &ObjRef, value: &Value) -> bool {
        self.is_secret_kind(obj) || is_sops(value)
    }
}

fn is_core_secret(obj: &ObjRef) -> bool {
    obj.group.is_empty() && obj.kind == "Secret"
}

/// A SOPS-encrypted document has a top-level `sops:` mapping.
pub fn is_sops(value: &Value) -> bool {
    value.get("sops").is_some_and(Value::is_object)
}

fn is_ciphertext(s: &str) -> bool {
    s.starts_with("ENC[") && s.ends_with(']')
}

/// One secret value. Deliberately neither `Debug` nor `Display`.
#[derive(PartialEq, Eq)]
enum SecretValue {
    Plain(Vec<u8>),
    /// A SOPS `ENC[...]` string that was not decrypted.
    Encrypted(String),
}

/// The secret values of an object, by key: `data` (base64-decoded) and `stringData` of a
/// `Secret`; for other kinds every leaf outside `apiVersion`, `kind`, `metadata` and `sops`,
/// keyed by its path (`spec.password`, `spec.list[0]`).
fn extract(obj: &ObjRef, value: &Value, sops: bool) -> BTreeMap<String, SecretValue> {
    let mut out = BTreeMap::new();
    let Some(map) = value.as_object() else {
        return out;
    };
    if is_core_secret(obj) {
        if let Some(data) = map.get("data") {
            leaves(data, "", sops, true, &mut out);
        }
        if let Some(data) = map.get("stringData") {
            // The API server lets stringData win over data, and so does the comparison.
            leaves(data, "", sops, false, &mut out);
        }
    } else {
        for (k, v) in map {
            if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "sops") {
                leaves(v, k, sops, false, &mut out);
            }
        }
    }
    out
}

fn leaves(
    v: &Value,
    path: &str,
    sops: bool,
    base64: bool,
    out: &mut BTreeMap<String, SecretValue>,
) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                leaves(child, &join(k), sops, base64, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                leaves(child, &format!("{path}[{i}]"), sops, base64, out);
            }
        }
        Value::String(s) if sops && is_ciphertext(s) => {
            out.insert(path.to_string(), SecretValue::Encrypted(s.clone()));
        }
        Value::String(s) if base64 => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .unwrap_or_else(|_| s.as_bytes().to_vec());
            out.insert(path.to_string(), SecretValue::Plain(bytes));
        }
        Value::String(s) => {
            out.insert(path.to_string(), SecretValue::Plain(s.as_bytes().to_vec()));
        }
        other => {
            out.insert(
                path.to_string(),
                SecretValue::Plain(other.to_string().into_bytes()),
            );
        }
    }
}

/// Decrypts a SOPS document when a decryptor is given; otherwise (or when it has no identity
/// for it) the document is compared as ciphertext.
fn open(value: &Value, ctx: &SecretContext<'_>) -> Result<(Option<Value>, bool), DecryptError> {
    if !is_sops(value) {
        return Ok((None, false));
    }
    match ctx.decryptor {
        Some(d) => match d.decrypt(value)? {
            Some(plain) => Ok((Some(plain), false)),
            None => Ok((None, true)),
        },
        None => Ok((None, true)),
    }
}

fn key_values(
    obj: &ObjRef,
    value: Option<&Value>,
    ctx: &SecretContext<'_>,
) -> Result<BTreeMap<String, SecretValue>, DecryptError> {
    let Some(value) = value else {
        return Ok(BTreeMap::new());
    };
    let (plain, encrypted) = open(value, ctx)?;
    Ok(extract(obj, plain.as_ref().unwrap_or(value), encrypted))
}

/// Per key of a secret object: added, removed, changed, unchanged, or "cannot tell" when both
/// sides are ciphertext that differs and nothing could decrypt it. Changed and added keys get
/// keyed fingerprints when a key is given. Sorted by key.
///
/// # Errors
/// When the decryptor fails on either side (not when it merely has no identity).
pub fn compare_keys(
    obj: &ObjRef,
    old: Option<&Value>,
    new: Option<&Value>,
    ctx: &SecretContext<'_>,
) -> Result<Vec<KeyChange>, DecryptError> {
    let old = key_values(obj, old, ctx)?;
    let new = key_values(obj, new, ctx)?;
    let fp = |v: &SecretValue| match (v, ctx.fingerprint_key) {
        (SecretValue::Plain(bytes), Some(k)) => Some(k.fingerprint(bytes)),
        _ => None,
    };
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let change = |status, old_fingerprint, new_fingerprint| KeyChange {
            key: key.clone(),
            status,
            old_fingerprint,
            new_fingerprint,
        };
        out.push(match (old.get(key), new.get(key)) {
            (Some(a), Some(b)) if a == b => change(KeyStatus::Unchanged, None, None),
            (Some(a @ SecretValue::Plain(_)), Some(b @ SecretValue::Plain(_))) => {
                change(KeyStatus::Changed, fp(a), fp(b))
            }
            (Some(_), Some(_)) => change(KeyStatus::CannotTell, None, None),
            (None, Some(b)) => change(KeyStatus::Added, None, fp(b)),
            (Some(_), None) => change(KeyStatus::Removed, None, None),
            (None, None) => continue,
        });
    }
    Ok(out)
}

/// Replaces every secret value of an object with [`REDACTED`], keeping its structure so that
/// added and removed keys still show in a text diff. Also redacts the SOPS block, any `ENC[...]`
/// string, and the `last-applied-configuration` annotation, which repeats the whole object.
pub fn redact(obj: &ObjRef, value: &mut Value) {
    let Some(map) = value.as_object_mut() else {
        return;
    };
    if is_core_secret(obj) {
        for field in ["data", "stringData"] {
            if let Some(v) = map.get_mut(field) {
                redact_leaves(v);
            }
        }
    } else {
        for (k, v) in map.iter_mut() {
            if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                redact_leaves(v);
            }
        }
    }
    if let Some(s) = map.get_mut("sops") {
        *s = Value::String(REDACTED.into());
    }
    if let Some(ann) = map
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        if let Some(v) = ann.get_mut(LAST_APPLIED) {
            *v = Value::String(REDACTED.into());
        }
    }
    redact_ciphertext(value);
}

fn redact_leaves(v: &mut Value) {
    match v {
        Value::Object(m) => m.values_mut().for_each(redact_leaves),
        Value::Array(a) => a.iter_mut().for_each(redact_leaves),
        other => *other = Value::String(REDACTED.into()),
    }
}

fn redact_ciphertext(v: &mut Value) {
    match v {
        Value::Object(m) => m.values_mut().for_each(redact_ciphertext),
        Value::Array(a) => a.iter_mut().for_each(redact_ciphertext),
        Value::String(s) if is_ciphertext(s) => *s = REDACTED.into(),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
