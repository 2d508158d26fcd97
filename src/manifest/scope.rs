//! Which kinds are cluster-scoped: the built-in table, CRDs seen in a render, and configured extras.

use super::Object;
use std::collections::BTreeMap;

/// Built-in cluster-scoped kinds as `(group, kind)`; every other built-in kind is namespaced.
const BUILTIN_CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
];

pub fn is_builtin_cluster_scoped(group: &str, kind: &str) -> bool {
    BUILTIN_CLUSTER_SCOPED
        .iter()
        .any(|(g, k)| *g == group && *k == kind)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// Scope knowledge beyond the built-ins: learned from CRDs and from configuration.
#[derive(Debug, Default, Clone)]
pub struct ScopeTable {
    extra: BTreeMap<(String, String), Scope>,
}

impl ScopeTable {
    /// Records a scope for `group/kind` (e.g. from `clusterScoped:` in `ferry.yaml`).
    pub fn insert(&mut self, group: &str, kind: &str, scope: Scope) {
        self.extra
            .insert((group.to_string(), kind.to_string()), scope);
    }

    /// Learns the scope of the kind a CustomResourceDefinition defines; other objects are ignored.
    pub fn learn_from(&mut self, obj: &Object) {
        if obj.kind() != "CustomResourceDefinition" || obj.group() != "apiextensions.k8s.io" {
            return;
        }
        let spec = &obj.value()["spec"];
        let (Some(group), Some(kind)) = (spec["group"].as_str(), spec["names"]["kind"].as_str()) else {
            return;
        };
        let scope = if spec["scope"].as_str() == Some("Cluster") {
            Scope::Cluster
        } else {
            Scope::Namespaced
        };
        self.insert(group, kind, scope);
    }

    /// The scope of a kind; unknown kinds are taken as namespaced, as `kubectl apply -n` would.
    pub fn scope_of(&self, group: &str, kind: &str) -> Scope {
        if let Some(s) = self.extra.get(&(group.to_string(), kind.to_string())) {
            return *s;
        }
        if is_builtin_cluster_scoped(group, kind) {
            Scope::Cluster
        } else {
            Scope::Namespaced
        }
    }

    /// Whether the scope of this kind is known (built-in, learned or configured).
    pub fn knows(&self, group: &str, kind: &str) -> bool {
        self.extra
            .contains_key(&(group.to_string(), kind.to_string()))
            || is_builtin_cluster_scoped(group, kind)
            || is_builtin_group(group)
    }
}

fn is_builtin_group(group: &str) -> bool {
    group.is_empty()
        || group.ends_with(".k8s.io") && !group.ends_with(".x-k8s.io")
        || matches!(group, "apps" | "batch" | "autoscaling" | "policy")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtins() {
        let t = ScopeTable::default();
        assert_eq!(t.scope_of("rbac.authorization.k8s.io", "ClusterRole"), Scope::Cluster);
        assert_eq!(t.scope_of("apps", "Deployment"), Scope::Namespaced);
        assert!(t.knows("apps", "Deployment"));
        assert!(!t.knows("cert-manager.io", "Certificate"));
    }

    #[test]
    fn learns_crd_scope() {
        let mut t = ScopeTable::default();
        let crd = Object::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "clusterissuers.cert-manager.io"},
            "spec": {"group": "cert-manager.io", "scope": "Cluster", "names": {"kind": "ClusterIssuer"}}
        }))
        .expect("valid");
        t.learn_from(&crd);
        assert_eq!(t.scope_of("cert-manager.io", "ClusterIssuer"), Scope::Cluster);
        assert!(t.knows("cert-manager.io", "ClusterIssuer"));
    }
}
