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

/// Adds `prefix` and `suffix` around the name of each resource that takes them.
pub fn apply_affixes(resources: &mut [Resource], prefix: &str, suffix: &str) {
    for res in resources.iter_mut() {
        if skipped(res) {
            continue;
        }
        let Some(Value::Object(meta)) = res.value.get_mut("metadata") else {
            continue;
        };
        let name = meta
            .get("name")
            .and_then(super::fieldspec::scalar_text)
            .unwrap_or_default();
        meta.insert(
            "name".into(),
            Value::String(format!("{prefix}{name}{suffix}")),
        );
    }
}
