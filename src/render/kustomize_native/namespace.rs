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

/// Which role-binding subjects take the namespace (`setRoleBindingSubjects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Subjects {
    /// Subjects named `default` (the kustomization field's behaviour).
    #[default]
    NamedDefault,
    /// Every subject of kind ServiceAccount.
    ServiceAccounts,
    None,
}

impl Subjects {
    /// Reads the plugin option; "" means the default.
    pub fn parse(text: &str) -> Result<Subjects, String> {
        match text {
            "" | "defaultOnly" => Ok(Subjects::NamedDefault),
            "allServiceAccounts" => Ok(Subjects::ServiceAccounts),
            "none" => Ok(Subjects::None),
            other => Err(format!(
                "invalid value \"{other}\" for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
            )),
        }
    }
}

/// The NamespaceTransformer's options: only blank fields set, and which subjects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    pub unset_only: bool,
    pub subjects: Subjects,
}

/// Sets `namespace` on `resources`; the error names the index of the object at fault. Like
/// kustomize, a change that makes an object's id collide with another's is an error.
pub fn apply_namespace(
    resources: &mut [Resource],
    namespace: &str,
    specs: &[FieldSpec],
) -> Result<(), (usize, String)> {
    apply_namespace_with(resources, namespace, specs, Mode::default())
}

/// [`apply_namespace`] with the plugin's options.
pub fn apply_namespace_with(
    resources: &mut [Resource],
    namespace: &str,
    specs: &[FieldSpec],
    mode: Mode,
) -> Result<(), (usize, String)> {
    let mut ids: HashMap<String, usize> = HashMap::new();
    for res in resources.iter() {
        *ids.entry(res.id().key()).or_default() += 1;
    }
    for (i, res) in resources.iter_mut().enumerate() {
        let before = res.id().key();
        res.store_previous_id();
        transform(res, namespace, specs, mode).map_err(|e| (i, e))?;
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
    transform(res, namespace, specs, Mode::default())
}

/// kyaml's `hasExistingValue`: a scalar with non-empty text.
fn has_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
        Value::Object(_) | Value::Array(_) => false,
    }
}

fn transform(
    res: &mut Resource,
    namespace: &str,
    specs: &[FieldSpec],
    mode: Mode,
) -> Result<(), String> {
    let gvk = res.gvk();
    let api_version = res.value["apiVersion"].as_str().unwrap_or("").to_string();
    let mut set = |v: &mut Value, _: &str| {
        if !(mode.unset_only && has_value(v)) {
            *v = Value::String(namespace.to_string());
        }
        Ok(())
    };
    if !gvk.is_cluster_scoped() {
        let meta = FieldSpec::new("", "", "", "metadata/namespace", true);
        apply(&meta, &mut res.value, Create::Scalar, &mut set)?;
    }
    let binding = gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding";
    if binding {
        if let Some(Value::Array(subjects)) = res.value.get_mut("subjects") {
            for subject in subjects.iter_mut() {
                if let Value::Object(s) = subject {
                    let chosen = match mode.subjects {
                        Subjects::NamedDefault => {
                            s.get("name").and_then(Value::as_str) == Some("default")
                        }
                        Subjects::ServiceAccounts => {
                            s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                        }
                        Subjects::None => false,
                    };
                    if chosen {
                        let slot = s.entry("namespace").or_insert(Value::Null);
                        set(slot, "")?;
                    }
                }
            }
        }
    }
    for spec in specs {
        // Role-binding subjects are handled above, whatever the specs say.
        if binding
            && (spec.kind == "RoleBinding" || spec.kind == "ClusterRoleBinding")
            && spec.path == "subjects/namespace"
        {
            continue;
        }
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
