//! Drift: which objects of an artifact no longer hold, live, what the last apply set. Read-only
//! (discovery and one LIST per kind and namespace), so it can run every interval: the fields
//! that differ are named as JSON pointers, deleted objects as missing.
//!
//! Ignore rules remove fields another controller owns (an HPA's `/spec/replicas`) from the
//! objects before they are compared, and before they are applied (see [`strip_ignored`]), so
//! ferry neither reports nor takes them.

use super::discovery::Discovery;
use super::inventory::ParentRef;
use super::plan::plan;
use super::run::{list_live, ApplyError};
use super::sync::is_zero;
use crate::manifest::{ObjRef, Object};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Fields to leave alone on the objects a selector matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IgnoreRule {
    /// JSON pointers (RFC 6901), like `/spec/replicas`.
    pub paths: Vec<String>,
    #[serde(default)]
    pub target: Selector,
}

/// Empty fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

impl Selector {
    pub fn matches(&self, r: &ObjRef) -> bool {
        let ok = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        ok(&self.group, &r.group)
            && ok(&self.kind, &r.kind)
            && ok(&self.name, &r.name)
            && ok(&self.namespace, &r.namespace)
    }
}

/// Checks a pointer's syntax: empty or `/`-separated tokens with only `~0` and `~1` escapes.
pub fn valid_pointer(p: &str) -> bool {
    if !p.starts_with('/') {
        return false;
    }
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return false;
        }
    }
    true
}

fn remove_pointer(v: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(&key);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = key.parse::<usize>() {
                if i < a.len() {
                    a.remove(i);
                }
            }
        }
        _ => {}
    }
}

/// The objects with every ignored field removed.
pub fn strip_ignored(objects: Vec<Object>, rules: &[IgnoreRule]) -> Vec<Object> {
    if rules.is_empty() {
        return objects;
    }
    objects
        .into_iter()
        .map(|o| {
            let r = o.obj_ref();
            let paths: Vec<&String> = rules
                .iter()
                .filter(|rule| rule.target.matches(&r))
                .flat_map(|rule| &rule.paths)
                .collect();
            if paths.is_empty() {
                return o;
            }
            let mut v = o.value().clone();
            for p in paths {
                remove_pointer(&mut v, p);
            }
            Object::from_value(v).unwrap_or(o)
        })
        .collect()
}

/// One drifted object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drifted {
    /// `Kind.group/namespace/name`.
    pub object: String,
    /// Deleted from the cluster.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    /// JSON pointers of the fields whose live value differs (at most 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

const MAX_FIELDS: usize = 20;

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Pointers under `path` where `desired` is not held by `live`, as the re-apply check reads it
/// (a missing field holding a zero value is no difference; lists compare element by element).
fn differences(desired: &Value, live: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_FIELDS {
        return;
    }
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            for (k, dv) in d {
                let p = format!("{path}/{}", escape(k));
                match l.get(k) {
                    Some(lv) => differences(dv, lv, &p, out),
                    None if is_zero(dv) => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
            for (i, (dv, lv)) in d.iter().zip(l).enumerate() {
                differences(dv, lv, &format!("{path}/{i}"), out);
            }
        }
        (Value::Number(d), Value::Number(l)) if d.as_f64() == l.as_f64() => {}
        (Value::Number(d), Value::String(l)) if d.to_string() == *l => {}
        (d, l) if d == l => {}
        _ => out.push(if path.is_empty() {
            "/".into()
        } else {
            path.into()
        }),
    }
}

/// The fields that differ between what ferry would apply and the live object. A Secret's
/// values are compared but never named beyond their key (the pointer holds no value).
pub fn drifted_fields(desired: &Value, live: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let stored = super::sync::as_stored(desired);
    for field in [
        "metadata",
        "spec",
        "data",
        "binaryData",
        "stringData",
        "rules",
        "roleRef",
        "subjects",
        "webhooks",
    ] {
        let Some(d) = stored.get(field) else { continue };
        let l = live.get(field).unwrap_or(&Value::Null);
        let before = out.len();
        differences(d, l, &format!("/{field}"), &mut out);
        // `metadata` holds what the server adds too: only labels and annotations ferry set.
        if field == "metadata" {
            out.truncate(before);
            for sub in ["labels", "annotations"] {
                if let Some(dv) = d.get(sub) {
                    differences(dv, &l[sub], &format!("/metadata/{sub}"), &mut out);
                }
            }
        }
    }
    // Any other top-level field (a custom resource's own).
    if let (Some(d), Some(l)) = (stored.as_object(), live.as_object()) {
        for (k, dv) in d {
            if matches!(
                k.as_str(),
                "apiVersion"
                    | "kind"
                    | "metadata"
                    | "spec"
                    | "data"
                    | "binaryData"
                    | "stringData"
                    | "rules"
                    | "roleRef"
                    | "subjects"
                    | "webhooks"
                    | "status"
            ) {
                continue;
            }
            differences(
                dv,
                l.get(k).unwrap_or(&Value::Null),
                &format!("/{}", escape(k)),
                &mut out,
            );
        }
    }
    out.truncate(MAX_FIELDS);
    out
}

/// Compares `objects` (as the last apply sent them) with the cluster. Objects whose kind the
/// cluster does not serve are reported missing. `discovery` may be kept between checks of the
/// same objects: it asks the server only for group-versions it has not seen.
///
/// # Errors
/// The plan fails, or discovery fails. A LIST that fails leaves its objects out.
pub async fn detect(
    client: &kube::Client,
    discovery: &Discovery,
    objects: Vec<Object>,
    parent: &ParentRef,
    concurrency: usize,
) -> Result<Vec<Drifted>, ApplyError> {
    let mut p = plan(objects, &parent.id(), discovery).await?;
    for planned in &mut p.objects {
        if planned.resolved.is_none() {
            planned.resolved = discovery
                .resolve(&planned.api_version, &planned.obj_ref.kind)
                .await?;
        }
    }
    let todo: Vec<usize> = (0..p.objects.len()).collect();
    let live = list_live(client, &p.objects, &todo, concurrency).await;
    let mut out = Vec::new();
    for planned in &p.objects {
        let name = planned.obj_ref.to_string();
        if planned.resolved.is_none() {
            out.push(Drifted {
                object: name,
                missing: true,
                fields: Vec::new(),
            });
            continue;
        }
        match live.get(&planned.obj_ref) {
            Some(None) => out.push(Drifted {
                object: name,
                missing: true,
                fields: Vec::new(),
            }),
            Some(Some(l)) if l["metadata"]["deletionTimestamp"].is_string() => out.push(Drifted {
                object: name,
                missing: true,
                fields: Vec::new(),
            }),
            Some(Some(l)) => {
                let fields = drifted_fields(&planned.value, l);
                if !fields.is_empty() {
                    out.push(Drifted {
                        object: name,
                        missing: false,
                        fields,
                    });
                }
            }
            // Its LIST failed: nothing known, nothing claimed.
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_named_by_pointer_and_defaults_are_no_drift() {
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "paused": false, "template": {"spec": {"containers": [{"name": "web", "image": "a:1"}]}}}});
        let mut live = desired.clone();
        live["metadata"]["uid"] = json!("u");
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
        live["spec"].as_object_mut().expect("spec").remove("paused");
        assert_eq!(drifted_fields(&desired, &live), Vec::<String>::new());
        live["spec"]["replicas"] = json!(5);
        live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:2");
        live["metadata"]["labels"]["app"] = json!("x");
        assert_eq!(
            drifted_fields(&desired, &live),
            [
                "/metadata/labels/app",
                "/spec/replicas",
                "/spec/template/spec/containers/0/image"
            ]
        );
    }

    #[test]
    fn ignore_rules_strip_fields_of_matching_objects() {
        let o = |name: &str| {
            Object::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": "shop", "annotations": {"a/b": "1"}},
                "spec": {"replicas": 2}}))
            .expect("object")
        };
        let rules = vec![IgnoreRule {
            paths: vec!["/spec/replicas".into(), "/metadata/annotations/a~1b".into()],
            target: Selector {
                kind: Some("Deployment".into()),
                name: Some("web".into()),
                ..Selector::default()
            },
        }];
        let out = strip_ignored(vec![o("web"), o("api")], &rules);
        assert_eq!(out[0].value()["spec"], json!({}));
        assert_eq!(out[0].value()["metadata"]["annotations"], json!({}));
        assert_eq!(out[1].value()["spec"]["replicas"], 2);
        assert!(valid_pointer("/spec/replicas") && valid_pointer("/a~1b"));
        assert!(!valid_pointer("spec") && !valid_pointer("/a~2"));
    }
}
