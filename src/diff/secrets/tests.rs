use super::*;
use crate::diff::report::KeyStatus::*;
use serde_json::json;

fn secret_ref() -> ObjRef {
    ObjRef {
        group: String::new(),
        kind: "Secret".into(),
        namespace: "shop".into(),
        name: "db".into(),
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn statuses(v: &[KeyChange]) -> Vec<(&str, KeyStatus)> {
    v.iter().map(|k| (k.key.as_str(), k.status)).collect()
}

fn key() -> FingerprintKey {
    FingerprintKey::new(b"test-only-key-0123456789", "test").expect("long enough")
}

#[test]
fn plain_secret_keys_added_removed_changed_unchanged() {
    let old = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "data": {"user": b64("admin"), "password": b64("old-pass"), "legacy": b64("x")}});
    let new = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "data": {"user": b64("admin"), "password": b64("new-pass")}, "stringData": {"token": "t0k"}});
    let k = key();
    let ctx = SecretContext {
        fingerprint_key: Some(&k),
        decryptor: None,
    };
    let keys = compare_keys(&secret_ref(), Some(&old), Some(&new), &ctx).expect("no decryption");
    assert_eq!(
        statuses(&keys),
        [
            ("legacy", Removed),
            ("password", Changed),
            ("token", Added),
            ("user", Unchanged)
        ]
    );
    let pw = &keys[1];
    assert_eq!(
        pw.old_fingerprint.as_deref(),
        Some(k.fingerprint(b"old-pass").as_str())
    );
    assert_eq!(
        pw.new_fingerprint.as_deref(),
        Some(k.fingerprint(b"new-pass").as_str())
    );
    assert_eq!(keys[2].new_fingerprint, Some(k.fingerprint(b"t0k")));
    assert_eq!(keys[0].old_fingerprint, None);
    assert_eq!(keys[3].new_fingerprint, None);
}

#[test]
fn without_a_key_there_are_no_fingerprints() {
    let old = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"a": "1"}});
    let new = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"a": "2"}});
    let keys = compare_keys(
        &secret_ref(),
        Some(&old),
        Some(&new),
        &SecretContext::default(),
    )
    .expect("ok");
    assert_eq!(statuses(&keys), [("a", Changed)]);
    assert_eq!(
        (
            keys[0].old_fingerprint.as_ref(),
            keys[0].new_fingerprint.as_ref()
        ),
        (None, None)
    );
}

#[test]
fn data_and_string_data_with_the_same_value_are_unchanged() {
    let old = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": {"a": b64("same")}});
    let new = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"a": "same"}});
    let keys = compare_keys(
        &secret_ref(),
        Some(&old),
        Some(&new),
        &SecretContext::default(),
    )
    .expect("ok");
    assert_eq!(statuses(&keys), [("a", Unchanged)]);
}

fn sops_secret(values: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = values
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": data,
           "sops": {"mac": "ENC[AES256_GCM,data:bWFj,type:str]", "version": "3.11.0"}})
}

#[test]
fn encrypted_values_identical_ciphertext_is_unchanged_otherwise_cannot_tell() {
    let old = sops_secret(&[
        ("a", "ENC[AES256_GCM,data:AAAA,iv:1,tag:1,type:str]"),
        ("b", "ENC[AES256_GCM,data:BBBB,iv:2,tag:2,type:str]"),
    ]);
    let new = sops_secret(&[
        ("a", "ENC[AES256_GCM,data:AAAA,iv:1,tag:1,type:str]"),
        ("b", "ENC[AES256_GCM,data:CCCC,iv:3,tag:3,type:str]"),
        ("c", "ENC[AES256_GCM,data:DDDD,iv:4,tag:4,type:str]"),
    ]);
    let k = key();
    let ctx = SecretContext {
        fingerprint_key: Some(&k),
        decryptor: None,
    };
    let keys = compare_keys(&secret_ref(), Some(&old), Some(&new), &ctx).expect("ok");
    assert_eq!(
        statuses(&keys),
        [("a", Unchanged), ("b", CannotTell), ("c", Added)]
    );
    assert!(
        keys.iter()
            .all(|k| k.old_fingerprint.is_none() && k.new_fingerprint.is_none()),
        "no fingerprint of ciphertext"
    );
}

/// Stands in for the SOPS decryptor of the `secrets` module: "decrypts" by looking values up.
struct TableDecryptor(Vec<(&'static str, &'static str)>);

impl SecretDecryptor for TableDecryptor {
    fn decrypt(&self, object: &Value) -> Result<Option<Value>, DecryptError> {
        let mut out = object.clone();
        if let Some(data) = out.get_mut("data").and_then(Value::as_object_mut) {
            for v in data.values_mut() {
                let c = v.as_str().unwrap_or_default();
                match self.0.iter().find(|(ct, _)| *ct == c) {
                    Some((_, plain)) => *v = json!(b64(plain)),
                    None => {
                        return Err(DecryptError {
                            message: "MAC mismatch".into(),
                        })
                    }
                }
            }
        }
        Ok(Some(out))
    }
}

#[test]
fn with_a_decryptor_reencrypted_equal_values_are_unchanged() {
    let old = sops_secret(&[("a", "ENC[x1]"), ("b", "ENC[y1]")]);
    let new = sops_secret(&[("a", "ENC[x2]"), ("b", "ENC[y2]")]);
    let d = TableDecryptor(vec![
        ("ENC[x1]", "same"),
        ("ENC[x2]", "same"),
        ("ENC[y1]", "one"),
        ("ENC[y2]", "two"),
    ]);
    let k = key();
    let ctx = SecretContext {
        fingerprint_key: Some(&k),
        decryptor: Some(&d),
    };
    let keys = compare_keys(&secret_ref(), Some(&old), Some(&new), &ctx).expect("ok");
    assert_eq!(statuses(&keys), [("a", Unchanged), ("b", Changed)]);
    assert_eq!(keys[1].new_fingerprint, Some(k.fingerprint(b"two")));
    let bad = sops_secret(&[("a", "ENC[zz]")]);
    assert!(compare_keys(&secret_ref(), Some(&old), Some(&bad), &ctx).is_err());
}

#[test]
fn configured_kinds_are_secret_by_path() {
    let obj = ObjRef {
        group: "example.com".into(),
        kind: "Credentials".into(),
        namespace: "n".into(),
        name: "c".into(),
    };
    let policy = SecretPolicy::new(&["Credentials".to_string()]);
    assert!(policy.is_secret_kind(&obj));
    assert!(SecretPolicy::new(&["Credentials.example.com".to_string()]).is_secret_kind(&obj));
    assert!(!SecretPolicy::new(&["Credentials.other.io".to_string()]).is_secret_kind(&obj));
    let old = json!({"apiVersion": "example.com/v1", "kind": "Credentials", "metadata": {"name": "c"}, "spec": {"password": "a", "hosts": ["h1"]}});
    let new = json!({"apiVersion": "example.com/v1", "kind": "Credentials", "metadata": {"name": "c"}, "spec": {"password": "b", "hosts": ["h1", "h2"]}});
    let keys = compare_keys(&obj, Some(&old), Some(&new), &SecretContext::default()).expect("ok");
    assert_eq!(
        statuses(&keys),
        [
            ("spec.hosts[0]", Unchanged),
            ("spec.hosts[1]", Added),
            ("spec.password", Changed)
        ]
    );
}

#[test]
fn redaction_keeps_structure_and_drops_every_value() {
    let mut v = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "db", "annotations": {LAST_APPLIED: "{\"data\":{\"a\":\"c2VjcmV0\"}}", "team": "x"}},
        "data": {"a": b64("secret")}, "stringData": {"b": "plain"},
        "sops": {"mac": "ENC[m]", "age": [{"enc": "-----BEGIN AGE"}]}});
    redact(&secret_ref(), &mut v);
    assert_eq!(
        v,
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "db", "annotations": {LAST_APPLIED: REDACTED, "team": "x"}},
        "data": {"a": REDACTED}, "stringData": {"b": REDACTED}, "sops": REDACTED})
    );
}
