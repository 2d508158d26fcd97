//! Whether a live object already holds what ferry would apply, so an unchanged re-apply sends
//! no request for it: the digest of the last applied configuration is stamped on the object,
//! ferry's field manager still applies to it, and every value ferry sets is still live.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The digest of the configuration ferry last applied (it changes when a field is removed
/// from the artifact, which a comparison of values alone could not see).
pub const APPLIED_ANNOTATION: &str = "ferry.dev/applied-digest";

/// Stamps the object with the digest of itself (without the stamp).
pub fn stamp(value: &mut Value) {
    // The digest covers the object as if it had never been stamped, so stamping is idempotent.
    let mut bare = value.clone();
    if let Some(meta) = bare.get_mut("metadata").and_then(Value::as_object_mut) {
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove(APPLIED_ANNOTATION);
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    // A Secret's values are left out (their keys stay): a plain hash of plaintext is never
    // written anywhere. A changed value is still seen, by comparing values with the live object.
    if bare["kind"] == "Secret" && bare["apiVersion"] == "v1" {
        for field in ["data", "stringData"] {
            if let Some(m) = bare.get_mut(field).and_then(Value::as_object_mut) {
                for v in m.values_mut() {
                    *v = Value::Null;
                }
            }
        }
    }
    let digest = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(bare.to_string().as_bytes()))
    );
    let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let ann = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !ann.is_object() {
        *ann = Value::Object(Map::new());
    }
    if let Some(a) = ann.as_object_mut() {
        a.insert(APPLIED_ANNOTATION.into(), Value::String(digest));
    }
}

/// True when applying `desired` would change nothing ferry owns in `live`.
pub fn in_sync(desired: &Value, live: &Value, field_manager: &str) -> bool {
    let stamp_of = |v: &Value| {
        v["metadata"]["annotations"][APPLIED_ANNOTATION]
            .as_str()
            .map(str::to_string)
    };
    if stamp_of(desired).is_none() || stamp_of(desired) != stamp_of(live) {
        return false;
    }
    if live["metadata"]["deletionTimestamp"].is_string() {
        return false;
    }
    let managed = live["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|m| {
            m.iter()
                .any(|e| e["manager"].as_str() == Some(field_manager) && e["operation"] == "Apply")
        });
    managed && subset(&as_stored(desired), live)
}

/// The object as the API server stores it, where that differs from what is sent: a v1
/// Secret's `stringData` is merged into `data` (base64) and never stored itself.
pub(crate) fn as_stored(desired: &Value) -> std::borrow::Cow<'_, Value> {
    use base64::Engine;
    let is_secret = desired["kind"] == "Secret" && desired["apiVersion"] == "v1";
    let Some(strings) = desired.get("stringData").and_then(Value::as_object) else {
        return std::borrow::Cow::Borrowed(desired);
    };
    if !is_secret {
        return std::borrow::Cow::Borrowed(desired);
    }
    let mut stored = desired.clone();
    let mut data = stored["data"].as_object().cloned().unwrap_or_default();
    for (k, v) in strings {
        let text = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        data.insert(
            k.clone(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(text)),
        );
    }
    if let Some(m) = stored.as_object_mut() {
        m.remove("stringData");
        m.insert("data".into(), Value::Object(data));
    }
    std::borrow::Cow::Owned(stored)
}

/// Every value in `desired` is present and equal in `live` (which may hold more: defaults,
/// status, fields of other managers). Lists must match element by element.
fn subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        // A field the server does not return holds Go's zero value (`omitempty`), so a desired
        // null, false, 0, "", {} or [] is already there; `creationTimestamp: null` from some
        // renderers asks for nothing either.
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => subset(dv, lv),
            None => is_zero(dv),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| subset(dv, lv))
        }
        (Value::Number(d), Value::Number(l)) => d.as_f64() == l.as_f64(),
        // Quantities given as numbers come back as strings: `cpu: 1` is stored as "1".
        (Value::Number(d), Value::String(l)) => d.to_string() == *l,
        (d, l) => d == l,
    }
}

pub(crate) fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired() -> Value {
        let mut v = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "a:1"}]}}}});
        stamp(&mut v);
        v
    }

    fn live_of(d: &Value) -> Value {
        let mut l = d.clone();
        l["metadata"]["managedFields"] = json!([{"manager": "ferry", "operation": "Apply"}]);
        l["metadata"]["resourceVersion"] = json!("7");
        l["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
        l["status"] = json!({"replicas": 2});
        l
    }

    #[test]
    fn defaults_and_status_do_not_count_as_drift() {
        let d = desired();
        assert!(in_sync(&d, &live_of(&d), "ferry"));
    }

    #[test]
    fn drift_in_a_field_ferry_sets_is_seen() {
        let d = desired();
        let mut l = live_of(&d);
        l["spec"]["replicas"] = json!(5);
        assert!(!in_sync(&d, &l, "ferry"));
        let mut l = live_of(&d);
        l["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:2");
        assert!(!in_sync(&d, &l, "ferry"));
        let mut l = live_of(&d);
        l["metadata"]["labels"] = json!({});
        assert!(!in_sync(&d, &l, "ferry"));
    }

    #[test]
    fn a_removed_field_changes_the_stamp() {
        let old = desired();
        let live = live_of(&old);
        let mut new = old.clone();
        if let Some(l) = new["metadata"]["labels"].as_object_mut() {
            l.remove("app");
        }
        stamp(&mut new);
        assert_ne!(
            new["metadata"]["annotations"][APPLIED_ANNOTATION],
            old["metadata"]["annotations"][APPLIED_ANNOTATION]
        );
        assert!(
            !in_sync(&new, &live, "ferry"),
            "values alone still match, the stamp does not"
        );
    }

    #[test]
    fn another_field_manager_or_no_stamp_means_apply() {
        let d = desired();
        assert!(!in_sync(&d, &live_of(&d), "ferry-prod"));
        let mut l = live_of(&d);
        l["metadata"]["annotations"] = json!({});
        assert!(!in_sync(&d, &l, "ferry"));
    }

    #[test]
    fn nulls_in_the_desired_object_match_absent_fields() {
        let mut d = desired();
        d["metadata"]["creationTimestamp"] = Value::Null;
        stamp(&mut d);
        let mut l = live_of(&d);
        if let Some(m) = l["metadata"].as_object_mut() {
            m.remove("creationTimestamp");
        }
        assert!(in_sync(&d, &l, "ferry"));
    }

    #[test]
    fn a_secrets_stamp_covers_its_keys_but_not_its_values() {
        let secret = |password: &str, keys: &[&str]| {
            let mut data = Map::new();
            for k in keys {
                data.insert((*k).to_string(), Value::String(password.to_string()));
            }
            let mut v = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "db", "namespace": "shop"}, "data": data});
            stamp(&mut v);
            v
        };
        let stamp_of = |v: &Value| v["metadata"]["annotations"][APPLIED_ANNOTATION].clone();
        let a = secret("aHVudGVyMg==", &["password"]);
        let b = secret("c3dvcmRmaXNo", &["password"]);
        assert_eq!(stamp_of(&a), stamp_of(&b), "values do not reach the digest");
        assert_ne!(
            stamp_of(&a),
            stamp_of(&secret("aHVudGVyMg==", &["password", "user"]))
        );
        // The value change is still applied: it is not in sync with the old live object.
        let mut live = a.clone();
        live["metadata"]["managedFields"] =
            serde_json::json!([{"manager": "ferry", "operation": "Apply"}]);
        assert!(in_sync(&a, &live, "ferry"));
        assert!(!in_sync(&b, &live, "ferry"));
    }

    #[test]
    fn omitted_zero_values_and_stringified_quantities_are_in_sync() {
        let mut d = desired();
        d["spec"]["template"]["spec"]["hostNetwork"] = Value::Bool(false);
        d["spec"]["template"]["spec"]["containers"][0]["args"] = serde_json::json!([]);
        d["spec"]["template"]["spec"]["containers"][0]["resources"] =
            serde_json::json!({"limits": {"cpu": 1}});
        stamp(&mut d);
        let mut l = live_of(&d);
        let c = &mut l["spec"]["template"]["spec"]["containers"][0];
        if let Some(m) = c.as_object_mut() {
            m.remove("args");
        }
        c["resources"]["limits"]["cpu"] = Value::String("1".into());
        if let Some(m) = l["spec"]["template"]["spec"].as_object_mut() {
            m.remove("hostNetwork");
        }
        assert!(in_sync(&d, &l, "ferry"));
        // A non-zero value that is missing live is drift.
        let mut gone = live_of(&d);
        if let Some(m) = gone["spec"].as_object_mut() {
            m.remove("replicas");
        }
        assert!(!in_sync(&d, &gone, "ferry"));
    }

    #[test]
    fn a_secrets_string_data_is_compared_as_the_data_the_server_stores() {
        let mut d = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "shop"},
            "data": {"user": "YWRtaW4="}, "stringData": {"password": "hunter2"}});
        stamp(&mut d);
        let mut live = d.clone();
        if let Some(m) = live.as_object_mut() {
            m.remove("stringData");
        }
        live["data"]["password"] = json!("aHVudGVyMg==");
        live["metadata"]["managedFields"] = json!([{"manager": "ferry", "operation": "Apply"}]);
        assert!(in_sync(&d, &live, "ferry"));
        live["data"]["password"] = json!("c3dvcmRmaXNo");
        assert!(!in_sync(&d, &live, "ferry"), "a changed value is drift");
    }

    #[test]
    fn stamping_is_stable() {
        let mut a = desired();
        let before = a.clone();
        stamp(&mut a);
        assert_eq!(a, before, "re-stamping gives the same digest");
    }
}
