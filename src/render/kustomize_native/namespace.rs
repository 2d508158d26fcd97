//! The `namespace` transformer (`api/filters/namespace`): sets `metadata.namespace` on every
//! namespaced object, renames a `v1` Namespace, points role-binding subjects named `default`
//! at the namespace, and fills the few other namespace fields kustomize knows.

use super::fieldspec::{apply, Create, FieldSpec};
use super::resource::Resource;
use serde_json::Value;
use std::collections::HashMap;

pub fn field_specs() -> Vec<FieldSpec> {
    vec![
        FieldSpec::new("", "", "Namespace", "metadata/name", true),
        FieldSpec::new(
            "apiregistration.k8s.io",
            "",
            "APIService",
            "spec/service/namespace",
            true,
        ),
        FieldSpec::new(
            "apiextensions.k8s.io",
            "",
            "CustomResourceDefinition",
            "spec/conversion/webhook/clientConfig/service/namespace",
            false,
        ),
    ]
}

/// Sets `namespace` on `resources`; the error names the index of the object at fault. Like
/// kustomize, a change that makes an object's id collide with another's is an error.
pub fn apply_namespace(
    resources: &mut [Resource],
    namespace: &str,
    specs: &[FieldSpec],
) -> Result<(), (usize, String)> {
    let mut ids: HashMap<String, usize> = HashMap::new();
    for res in resources.iter() {
        *ids.entry(res.id().key()).or_default() += 1;
    }
    for (i, res) in resources.iter_mut().enumerate() {
        let before = res.id().key();
        res.store_previous_id();
        transform(res, namespace, specs).map_err(|e| (i, e))?;
        let after = res.id().key();
        if before != after {
            if let Some(n) = ids.get_mut(&before) {
                *n = n.saturating_sub(1);
            }
            *ids.entry(after.clone()).or_default() += 1;
        }
        if ids.get(&after).copied().unwrap_or(0) > 1 {
            return Err((
                i,
                "namespace transformation produces ID conflict with another object".into(),
            ));
        }
    }
    Ok(())
}

/// Sets the namespace on one object, without kustomize's id bookkeeping (as the
/// `ValueAddTransformer` does).
pub fn set_namespace(
    res: &mut Resource,
    namespace: &str,
    specs: &[FieldSpec],
) -> Result<(), String> {
    transform(res, namespace, specs)
}

fn transform(res: &mut Resource, namespace: &str, specs: &[FieldSpec]) -> Result<(), String> {
    let gvk = res.gvk();
    let api_version = res.value["apiVersion"].as_str().unwrap_or("").to_string();
    let mut set = |v: &mut Value, _: &str| {
        *v = Value::String(namespace.to_string());
        Ok(())
    };
    if !gvk.is_cluster_scoped() {
        let meta = FieldSpec::new("", "", "", "metadata/namespace", true);
        apply(&meta, &mut res.value, Create::Scalar, &mut set)?;
    }
    if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
        if let Some(Value::Array(subjects)) = res.value.get_mut("subjects") {
            for subject in subjects.iter_mut() {
                if let Value::Object(s) = subject {
                    if s.get("name").and_then(Value::as_str) == Some("default") {
                        s.insert("namespace".into(), Value::String(namespace.to_string()));
                    }
                }
            }
        }
    }
    for spec in specs {
        // Only a `v1` Namespace takes the namespace as its name.
        if spec.path == "metadata/namespace"
            || (spec.path == "metadata/name" && api_version != "v1")
        {
            continue;
        }
        apply(spec, &mut res.value, Create::Scalar, &mut set)?;
    }
    Ok(())
}
