//! `namePrefix` and `nameSuffix` (`PrefixTransformer`, `SuffixTransformer`): every name but
//! those of CustomResourceDefinitions, APIServices and Namespaces.

use super::resource::Resource;
use serde_json::Value;

fn skipped(res: &Resource) -> bool {
    let gvk = res.gvk();
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io")
}

/// The prefix transformer, then the suffix transformer, each remembering the id it
/// replaces (kustomize's `AddNamePrefix`/`StorePreviousId`).
pub fn apply_affixes(resources: &mut [Resource], prefix: &str, suffix: &str) {
    if !prefix.is_empty() {
        for res in resources.iter_mut().filter(|r| !skipped(r)) {
            res.track.prefixes.push(prefix.to_string());
            res.store_previous_id();
            rename(res, |name| format!("{prefix}{name}"));
        }
    }
    if !suffix.is_empty() {
        for res in resources.iter_mut().filter(|r| !skipped(r)) {
            res.track.suffixes.push(suffix.to_string());
            res.store_previous_id();
            rename(res, |name| format!("{name}{suffix}"));
        }
    }
}

fn rename(res: &mut Resource, f: impl Fn(&str) -> String) {
    if let Some(Value::Object(meta)) = res.value.get_mut("metadata") {
        let name = meta
            .get("name")
            .and_then(super::fieldspec::scalar_text)
            .unwrap_or_default();
        meta.insert("name".into(), Value::String(f(&name)));
    }
}
