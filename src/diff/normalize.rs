//! Dropping the fields an API server sets, so that they never show up as differences. The build
//! diff applies it too (charts sometimes render `creationTimestamp: null`); the live diff reuses it
//! on what the cluster returns.

use serde_json::Value;

/// `metadata` fields the server owns.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
];

/// Removes `status` and the server-owned metadata fields (`managedFields`, `resourceVersion`,
/// `uid`, `creationTimestamp`, `generation`, `selfLink`) from one object, in place. Empty
/// `metadata.annotations` or `labels` left behind are dropped as well, since the server does not
/// distinguish them from absent ones.
pub fn strip_server_fields(object: &mut Value) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    map.remove("status");
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_METADATA {
            meta.remove(*field);
        }
        for field in ["annotations", "labels"] {
            let empty = matches!(meta.get(field), Some(Value::Null))
                || meta
                    .get(field)
                    .and_then(Value::as_object)
                    .is_some_and(|m| m.is_empty());
            if empty {
                meta.remove(field);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_are_removed_and_the_rest_kept() {
        let mut v = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "n", "uid": "123", "resourceVersion": "9",
                         "generation": 2, "creationTimestamp": null, "managedFields": [{"manager": "x"}],
                         "labels": {"app": "a"}, "annotations": {}},
            "data": {"k": "v"},
            "status": {"phase": "Active"}
        });
        strip_server_fields(&mut v);
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "a", "namespace": "n", "labels": {"app": "a"}},
                   "data": {"k": "v"}})
        );
    }

    #[test]
    fn non_objects_are_left_alone() {
        let mut v = json!(["a"]);
        strip_server_fields(&mut v);
        assert_eq!(v, json!(["a"]));
    }
}
