//! A stable order for objects: the order an API server accepts them in, then by identity.

use super::Object;

/// Kinds that must exist before others can be applied come first; webhooks come last so they
/// cannot block the objects they would admit.
pub fn apply_rank(group: &str, kind: &str) -> u8 {
    match (group, kind) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") => 0,
        ("", "Namespace") => 1,
        ("", "ResourceQuota") | ("", "LimitRange") => 2,
        ("storage.k8s.io", "StorageClass") | ("scheduling.k8s.io", "PriorityClass") => 3,
        ("", "ServiceAccount") => 4,
        ("rbac.authorization.k8s.io", "ClusterRole") | ("rbac.authorization.k8s.io", "Role") => 5,
        ("rbac.authorization.k8s.io", _) => 6,
        ("", "ConfigMap") | ("", "Secret") => 7,
        ("", "PersistentVolume") | ("", "PersistentVolumeClaim") => 8,
        ("", "Service") => 9,
        ("admissionregistration.k8s.io", _) => 20,
        _ if is_builtin(group) => 10,
        _ => 15,
    }
}

fn is_builtin(group: &str) -> bool {
    group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io")
}

/// Sorts by apply rank, then group, kind, namespace and name. Equal inputs give equal order.
pub fn sort_objects(objects: &mut [Object]) {
    objects.sort_by_cached_key(|o| {
        let r = o.obj_ref();
        (apply_rank(&r.group, &r.kind), r)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api: &str, kind: &str, name: &str) -> Object {
        Object::from_value(json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}})).expect("valid")
    }

    #[test]
    fn crds_and_namespaces_first_webhooks_last() {
        let mut v = vec![
            obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "w"),
            obj("apps/v1", "Deployment", "d"),
            obj("example.com/v1", "Widget", "x"),
            obj("v1", "Namespace", "n"),
            obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "c"),
        ];
        sort_objects(&mut v);
        let kinds: Vec<_> = v.iter().map(|o| o.kind()).collect();
        assert_eq!(
            kinds,
            ["CustomResourceDefinition", "Namespace", "Deployment", "Widget", "ValidatingWebhookConfiguration"]
        );
    }
}
