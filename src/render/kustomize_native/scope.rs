//! Which kinds kustomize treats as cluster-scoped: the table kyaml precomputes from its
//! embedded Kubernetes v1.21.2 schema (`kyaml/openapi/openapi.go`). Everything else,
//! custom resources included, counts as namespaced, as it does in kustomize.

const CLUSTER_SCOPED: &[(&str, &str)] = &[
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("apiregistration.k8s.io/v1beta1", "APIService"),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
    ),
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("node.k8s.io/v1", "RuntimeClass"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("storage.k8s.io/v1", "CSIDriver"),
    ("storage.k8s.io/v1", "CSINode"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("storage.k8s.io/v1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
    ("v1", "ComponentStatus"),
    ("v1", "Namespace"),
    ("v1", "Node"),
    ("v1", "NodeProxyOptions"),
    ("v1", "PersistentVolume"),
];

/// True when kustomize knows `apiVersion`/`kind` to be cluster-scoped, with `apiVersion`
/// given as group and version (`group/version`, or the version alone for the core group):
/// compared in place, since this is asked for every object many times.
pub fn is_cluster_scoped(group: &str, version: &str, kind: &str) -> bool {
    CLUSTER_SCOPED.iter().any(|(v, k)| {
        *k == kind
            && if group.is_empty() {
                *v == version
            } else {
                v.len() == group.len() + 1 + version.len()
                    && v.starts_with(group)
                    && v.as_bytes()[group.len()] == b'/'
                    && v.ends_with(version)
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_and_version_are_compared_as_the_api_version() {
        for (api_version, kind) in CLUSTER_SCOPED {
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            assert!(
                is_cluster_scoped(group, version, kind),
                "{api_version} {kind}"
            );
        }
        assert!(is_cluster_scoped("", "v1", "Namespace"));
        assert!(is_cluster_scoped(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole"
        ));
        assert!(!is_cluster_scoped(
            "rbac.authorization.k8s.io",
            "v1",
            "Role"
        ));
        assert!(!is_cluster_scoped(
            "rbac.authorization.k8s.io",
            "v1x",
            "ClusterRole"
        ));
        assert!(!is_cluster_scoped(
            "rbac.authorization.k8s.i",
            "o/v1",
            "ClusterRole"
        ));
        assert!(!is_cluster_scoped("apps", "v1", "Namespace"));
    }
}
