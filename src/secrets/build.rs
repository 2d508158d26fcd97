//! What `ferry build` does with secrets: repository files encrypted with sops are opened in
//! memory with the CI identity (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, the default keys file),
//! and every rendered `Secret` is sealed to the environment's recipients before anything is
//! written. Plaintext never reaches the disk, the render cache or a message.

use super::age::Recipient;
use super::identity::Identities;
use super::seal::{self, SealKey};
use super::sops::metadata::Selectors;
use super::sops::tree::{Branch, Value};
use super::sops::{self, metadata, Format};
use super::SecretsError;
use crate::config::SealRule;
use crate::manifest::Object;
use std::sync::OnceLock;

/// The CI's identities, loaded once per process.
pub fn ci_identities() -> Result<&'static Identities, SecretsError> {
    static IDS: OnceLock<Result<Identities, String>> = OnceLock::new();
    IDS.get_or_init(|| Identities::load(None).map_err(|e| e.to_string()))
        .as_ref()
        // The loader's message names the variable or file that failed; say what it was for.
        .map_err(|e| SecretsError::Unsupported(format!("{e}\nhint: this is the CI's age identity, read from SOPS_AGE_KEY, SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt; fix or unset the one named")))
}

/// Whether a YAML/JSON text claims to be a sops-encrypted file: a document with a top-level
/// `sops` key, whatever its value. Such a file is opened with the strict reader (metadata,
/// data key, every value, the MAC) or refused, as `ferry secrets decrypt` would; a truncated
/// or forged `sops:` block never passes for plaintext.
pub fn is_encrypted_text(text: &str) -> bool {
    if !text.contains("sops") {
        return false;
    }
    let json = text.trim_start().starts_with('{');
    let format = if json { Format::Json } else { Format::Yaml };
    match format.parse(text) {
        Ok(docs) => docs.iter().any(|d| sops::tree::get(d, "sops").is_some()),
        // A file the sops reader refuses: the serde reader decides whether it claims sops.
        Err(_) => crate::manifest::parse_rendered(text)
            .is_ok_and(|docs| docs.iter().any(|d| d.get("sops").is_some())),
    }
}

/// Whether a rendered object claims to be sops-encrypted (a top-level `sops` key): it is
/// opened and MAC-checked, or refused.
pub fn is_encrypted_object(v: &serde_json::Value) -> bool {
    v.get("sops").is_some()
}

/// Whether an object looks sealed by sops (a `sops` mapping with a MAC and a date): ciphertext
/// that may be cached. Whether it really is, opening it tells.
fn looks_sealed(v: &serde_json::Value) -> bool {
    v.get("sops").and_then(|s| s.get("mac")).is_some()
        && v.get("sops").and_then(|s| s.get("lastmodified")).is_some()
}

const CIPHERTEXT: &str = "ENC[AES256_GCM,";

/// The key path of the first `ENC[AES256_GCM,...]` value in a document that has no `sops`
/// block: a damaged file (its metadata cut off or lost), never data.
pub fn stray_ciphertext(v: &serde_json::Value) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &mut String) -> Option<String> {
        match v {
            serde_json::Value::String(s) if s.starts_with(CIPHERTEXT) => Some(path.clone()),
            serde_json::Value::Object(m) => m.iter().find_map(|(k, v)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                let found = walk(v, path);
                path.truncate(len);
                found
            }),
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(v, path);
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    if v.get("sops").is_some() {
        return None;
    }
    walk(v, &mut String::new())
}

fn stray_error(what: &str, path: &str) -> SecretsError {
    SecretsError::Unsupported(format!(
        "{what}: the value at `{path}` is sops ciphertext (ENC[AES256_GCM,...]) but there is no `sops:` block: the file is damaged (its metadata was cut off or lost), not data\nhint: restore the file from history, or encrypt its plaintext again with `ferry secrets encrypt`"
    ))
}

/// Refuses a plaintext YAML file (a helm values file) that holds sops ciphertext.
///
/// # Errors
/// The file and the key path of the first `ENC[...]` value.
pub fn check_plaintext_file(file: &str, text: &str) -> Result<(), SecretsError> {
    if !text.contains(CIPHERTEXT) {
        return Ok(());
    }
    let Ok(docs) = crate::manifest::parse_rendered(text) else {
        return Ok(()); // helm says what is wrong with it
    };
    match docs.iter().find_map(stray_ciphertext) {
        Some(path) => Err(stray_error(file, &path)),
        None => Ok(()),
    }
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
/// apps pass encrypted manifests through), and returns the values that were encrypted.
///
/// # Errors
/// The first object that cannot be opened, named by kind and name.
pub fn open_objects(objects: &mut [Object]) -> Result<super::Disclosed, SecretsError> {
    let mut disclosed = super::Disclosed::default();
    for obj in objects.iter_mut() {
        let name = format!("{}/{}", obj.kind(), obj.name());
        if !is_encrypted_object(obj.value()) {
            if let Some(path) = stray_ciphertext(obj.value()) {
                return Err(stray_error(&name, &path));
            }
            continue;
        }
        let open = open_value(obj.value(), ci_identities()?, &name)?;
        // Only what was encrypted is secret: fields the file left in clear are not.
        let encrypted = encrypted_fields(obj.value(), &open);
        disclosed.add_leaves(&format!("{name} (sops-encrypted)"), &encrypted);
        *obj.value_mut() = open;
    }
    Ok(disclosed)
}

/// The parts of `open` whose counterpart in `sealed` was an `ENC[...]` value.
fn encrypted_fields(sealed: &serde_json::Value, open: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match (sealed, open) {
        (J::Object(s), J::Object(o)) => {
            let m: serde_json::Map<String, J> = o
                .iter()
                .filter_map(|(k, ov)| {
                    let e = encrypted_fields(s.get(k)?, ov);
                    (!e.is_null()).then(|| (k.clone(), e))
                })
                .collect();
            if m.is_empty() {
                J::Null
            } else {
                J::Object(m)
            }
        }
        (J::Array(s), J::Array(o)) => {
            let a: Vec<J> = s
                .iter()
                .zip(o)
                .map(|(s, o)| encrypted_fields(s, o))
                .collect();
            if a.iter().all(J::is_null) {
                J::Null
            } else {
                J::Array(a)
            }
        }
        (J::String(s), o) if s.starts_with("ENC[") => o.clone(),
        _ => J::Null,
    }
}

/// Decrypts one sops-encrypted object (a JSON value with a top-level `sops` block) with
/// `ids`, checks its MAC and returns it without the `sops` block. `name` is for messages.
///
/// # Errors
/// [`SecretsError::NoIdentity`] when none of `ids` opens the data key; a tampered value or a
/// MAC mismatch otherwise. No message holds a value.
pub fn open_value(
    value: &serde_json::Value,
    ids: &Identities,
    name: &str,
) -> Result<serde_json::Value, SecretsError> {
    let mut docs = vec![to_branch(value)];
    let wrap = |e: SecretsError| match e {
        e @ SecretsError::NoIdentity { .. } => e,
        e => SecretsError::Unsupported(format!("{name}: {e}")),
    };
    let md = metadata::extract(&mut docs).map_err(|e| wrap(e.into()))?;
    let key = super::age::unwrap(&md.age, ids, md.foreign_key_groups()).map_err(wrap)?;
    sops::decrypt_docs(&mut docs, &key, &md).map_err(|e| match e {
        sops::SopsError::MacMismatch if !md.mac_only_encrypted => SecretsError::Unsupported(format!(
            "{name}: {e}\nhint: a kustomize transformer (namespace, labels, ...) changed the encrypted manifest; \
             encrypt it with --mac-only-encrypted so that only encrypted values are covered"
        )),
        e => wrap(e.into()),
    })?;
    Ok(to_json(&docs[0]))
}

/// Whether an object is sealed by default: core `Secret`s.
pub fn must_seal(obj: &Object) -> bool {
    obj.kind() == "Secret" && obj.api_version() == "v1"
}

/// The selectors an object is sealed with, or `None` when it is not sealed: core Secrets
/// always, and whatever a `seal:` rule of ferry.yaml matches.
///
/// # Errors
/// A rule whose `name` or `encryptedRegex` is not a valid regex.
pub fn seal_selectors(obj: &Object, rules: &[SealRule]) -> Result<Option<Selectors>, SecretsError> {
    if must_seal(obj) {
        return Ok(Some(seal::kubernetes_selectors()));
    }
    for (i, r) in rules.iter().enumerate() {
        let bad = |e: regex::Error| SecretsError::Config {
            path: "ferry.yaml".into(),
            message: format!("seal[{i}]: {e}"),
        };
        let name_ok = match &r.name {
            Some(re) => regex::Regex::new(re).map_err(bad)?.is_match(obj.name()),
            None => true,
        };
        if r.kind == obj.kind() && r.group.as_deref().is_none_or(|g| g == obj.group()) && name_ok {
            let selectors = match &r.encrypted_regex {
                Some(re) => {
                    regex::Regex::new(re).map_err(bad)?;
                    Selectors {
                        encrypted_regex: Some(re.clone()),
                        ..Default::default()
                    }
                }
                None => seal::kubernetes_selectors(),
            };
            return Ok(Some(selectors));
        }
    }
    Ok(None)
}

/// A `seal:` rule whose selectors would encrypt none of the object's values would write a
/// `sops:` block over plaintext: refused, with the selector and the keys it saw. (A core
/// Secret without data is sealed as it is: there is nothing in it to leave in clear.)
fn refuse_empty_seal(obj: &Object, sel: &Selectors) -> Result<(), SecretsError> {
    let sel = sel.clone().or_default();
    let coverage = sops::coverage(&[to_branch(obj.value())], &sel)?;
    if coverage.encrypts_nothing() {
        return Err(SecretsError::EncryptsNothing {
            what: format!("{}/{} (matched by a `seal:` rule of ferry.yaml)", obj.kind(), obj.name()),
            selectors: sel.describe(),
            keys: coverage.keys_seen(),
            hint: "fix the rule's encryptedRegex: it is matched against each key on a value's path, e.g. `^(data|stringData)$` or `^password$`".into(),
        });
    }
    Ok(())
}

/// Seals every `Secret`, and every object a `seal:` rule matches, for the environment's
/// recipients, deterministically from the CI identity.
///
/// # Errors
/// Objects to seal in an environment without recipients, no CI identity, a bad recipient.
pub fn seal_objects(
    env: &str,
    recipients: &[String],
    rules: &[SealRule],
    objects: &mut [Object],
) -> Result<(), SecretsError> {
    let mut todo = Vec::new();
    for (i, obj) in objects.iter().enumerate() {
        if let Some(sel) = seal_selectors(obj, rules)? {
            if !must_seal(obj) {
                refuse_empty_seal(obj, &sel)?;
            }
            todo.push((i, sel));
        }
    }
    if todo.is_empty() {
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
    let key = SealKey::from_identities(ids).ok_or_else(|| SecretsError::Unsupported(format!(
        "environment `{env}` renders Secrets, and sealing them needs the CI's age identity, but none is set\nhint: set SOPS_AGE_KEY_FILE to the CI identity's file (or SOPS_AGE_KEY to the key itself), or put it in ~/.config/sops/age/keys.txt; `ferry keygen` makes a new one"
    )))?;
    for (i, selectors) in todo {
        let obj = &mut objects[i];
        let sealed = seal::seal_docs(vec![to_branch(obj.value())], &recipients, &selectors, &key)?;
        *obj.value_mut() = to_json(&sealed[0]);
    }
    Ok(())
}

/// Refuses objects that would be written with a decrypted value readable: a chart that copies
/// a password from an encrypted values file into a ConfigMap, a SOPS manifest that no rule
/// seals. Called after sealing, so a sealed object's encrypted fields are ciphertext and only
/// what it left in clear is searched. The user decides, with an explicit `seal:` rule, that an
/// object is to be sealed instead.
///
/// # Errors
/// One line per object that holds a value, naming the object, the field, where the value came
/// from and how it was encoded; never the value.
pub fn refuse_disclosed(
    objects: &[Object],
    disclosed: &super::Disclosed,
) -> Result<(), SecretsError> {
    if disclosed.is_empty() {
        return Ok(());
    }
    let mut found = Vec::new();
    for obj in objects {
        if let Some(leak) = disclosed.find_leak(obj.value()) {
            let id = match obj.namespace() {
                Some(ns) => format!("{}/{ns}/{}", obj.kind(), obj.name()),
                None => format!("{}/{}", obj.kind(), obj.name()),
            };
            let group = if obj.group().is_empty() {
                String::new()
            } else {
                format!(", group: {}", obj.group())
            };
            found.push(format!(
                "{id}: field `{}` holds a decrypted value ({}, {}); ferry never writes one unsealed\n\
                 hint: to seal this object, add `- {{kind: {}{group}, name: \"^{}$\"}}` under `seal:` in ferry.yaml; \
                 otherwise keep the value out of it",
                leak.field,
                leak.origin,
                leak.form,
                obj.kind(),
                obj.name().replace('.', "\\."),
            ));
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(SecretsError::Unsupported(found.join("\n")))
    }
}

/// The text of a sealed (sops-encrypted) object in sops' own YAML layout; `None` for others.
/// serde's YAML would leave strings such as `2024-01-01` or `1_000` unquoted, which sops reads
/// as a timestamp or a number, and the MAC would no longer match.
pub fn sealed_text(obj: &Object) -> Option<String> {
    looks_sealed(obj.value()).then(|| Format::Yaml.emit(&[to_branch(obj.value())]))
}

/// Whether rendered text holds a value that would be sealed and is not encrypted yet: a plain
/// `Secret`, or an object a `seal:` rule matches. Such output never reaches the cache on disk;
/// SOPS-encrypted manifests (ciphertext, as committed) may. Text that does not parse counts as
/// plaintext, to be safe.
pub fn holds_plaintext_secret(text: &str, rules: &[SealRule]) -> bool {
    if rules.is_empty() && !text.contains("Secret") {
        return false;
    }
    let Ok(docs) = crate::manifest::parse_rendered(text) else {
        return true;
    };
    docs.into_iter().any(|v| {
        if looks_sealed(&v) {
            return false;
        }
        match Object::from_value(v) {
            Ok(o) => seal_selectors(&o, rules).map_or(true, |s| s.is_some()),
            Err(_) => true,
        }
    })
}

/// Helm values files of an app that are sops-encrypted, by index.
pub fn encrypted_values(tree: &dyn crate::source::Tree, values: &[String]) -> Vec<usize> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| {
            tree.read(v)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .is_some_and(|t| is_encrypted_text(&t))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Helm's merge of values files: maps merge key by key, a later scalar or list replaces, a
/// `null` removes the key.
fn merge_values(
    into: &mut serde_json::Map<String, serde_json::Value>,
    from: serde_json::Map<String, serde_json::Value>,
) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (_, serde_json::Value::Null) => {
                into.remove(&k);
            }
            (Some(serde_json::Value::Object(a)), serde_json::Value::Object(b)) => {
                merge_values(a, b)
            }
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Decrypted values files merged in order into one JSON document for `helm --values -`, and the
/// values that were encrypted in them (to redact from tool errors and to find in rendered
/// objects). Held in memory only.
///
/// # Errors
/// A file that does not open with the CI identity, named.
pub fn helm_secret_values(
    tree: &dyn crate::source::Tree,
    files: &[&str],
) -> Result<(zeroize::Zeroizing<String>, super::Disclosed), SecretsError> {
    let mut merged = serde_json::Map::new();
    let mut disclosed = super::Disclosed::default();
    for f in files {
        let bytes = tree
            .read(f)
            .map_err(|e| SecretsError::Unsupported(format!("{f}: {e}")))?;
        let text = zeroize::Zeroizing::new(
            String::from_utf8(bytes)
                .map_err(|_| SecretsError::Unsupported(format!("{f}: not UTF-8")))?,
        );
        let opened = super::open(&text, Format::Yaml, ci_identities()?)
            .map_err(|e| SecretsError::Unsupported(format!("{f}: {e}")))?;
        let sealed = Format::Yaml
            .parse(&text)
            .map_err(|e| SecretsError::Unsupported(format!("{f}: {e}")))?;
        for (i, doc) in opened.docs.iter().enumerate() {
            let open = to_json(doc);
            let encrypted = sealed
                .get(i)
                .map(|s| encrypted_fields(&to_json(s), &open))
                .unwrap_or_else(|| open.clone());
            disclosed.add_leaves(f, &encrypted);
            if let serde_json::Value::Object(m) = open {
                merge_values(&mut merged, m);
            }
        }
    }
    let json = zeroize::Zeroizing::new(serde_json::Value::Object(merged).to_string());
    Ok((json, disclosed))
}

/// The values decrypted for an app's render: its sops-encrypted helm values files. Empty for
/// an app that reads none.
///
/// # Errors
/// A file that does not open with the CI identity, named.
pub fn decrypted_inputs(
    tree: &dyn crate::source::Tree,
    app: &crate::config::ResolvedApp,
) -> Result<super::Disclosed, SecretsError> {
    let h = match &app.source {
        crate::config::ResolvedSource::Helm(h) => h,
        // Opened while the Flux repository was followed; kept with the render.
        crate::config::ResolvedSource::Flux(f) => return Ok(f.rendered.disclosed().clone()),
        _ => return Ok(super::Disclosed::default()),
    };
    // Values a Flux HelmRelease read from Secrets.
    let mut disclosed = h
        .secret_values
        .as_ref()
        .map(|s| s.disclosed().clone())
        .unwrap_or_default();
    let files: Vec<&str> = encrypted_values(tree, &h.values)
        .into_iter()
        .map(|i| h.values[i].as_str())
        .collect();
    if !files.is_empty() {
        disclosed.extend(helm_secret_values(tree, &files)?.1);
    }
    Ok(disclosed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_merge_like_helm() {
        let mut a = serde_json::json!({"a": {"b": 1, "c": 2}, "d": 1})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let b = serde_json::json!({"a": {"b": 3}, "d": null, "e": [1]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        merge_values(&mut a, b);
        assert_eq!(
            serde_json::Value::Object(a),
            serde_json::json!({"a": {"b": 3, "c": 2}, "e": [1]})
        );
    }

    #[test]
    fn only_plaintext_secrets_stay_out_of_the_cache() {
        let plain = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n";
        let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: dg==}\n";
        let sealed = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]'}\nsops: {mac: 'ENC[m]', lastmodified: '2026-01-01T00:00:00Z'}\n";
        assert!(!holds_plaintext_secret(plain, &[]));
        assert!(holds_plaintext_secret(secret, &[]));
        assert!(holds_plaintext_secret(
            &format!("{plain}---\n{secret}"),
            &[]
        ));
        assert!(
            !holds_plaintext_secret(sealed, &[]),
            "ciphertext may be cached"
        );
        assert!(
            holds_plaintext_secret("kind: Secret\n: [", &[]),
            "unparsable counts as plaintext"
        );
        let rule = SealRule {
            kind: "ConfigMap".into(),
            group: None,
            name: Some("^a$".into()),
            encrypted_regex: None,
        };
        assert!(holds_plaintext_secret(plain, std::slice::from_ref(&rule)));
    }
}
