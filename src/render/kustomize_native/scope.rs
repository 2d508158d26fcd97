//! Which kinds kustomize treats as cluster-scoped: the table kyaml precomputes from its
//! embedded Kubernetes v1.21.2 schema (`kyaml/openapi/openapi.go`). Everything else,
//! custom resources included, counts as namespaced, as it does in kustomize, unless a schema
//! file (`openapi`) gives it paths without a namespace (`openapi::declares_cluster_scoped`).

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

/// The namespaced kinds of the same precomputed table: with [`CLUSTER_SCOPED`], the kinds
/// whose scope kyaml knows without reading a schema (which matters for `openapi`).
const NAMESPACED: &[(&str, &str)] = &[
    ("apps/v1", "ControllerRevision"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "StatefulSet"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("autoscaling/v1", "Scale"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("batch/v1", "CronJob"),
    ("batch/v1", "Job"),
    ("batch/v1beta1", "CronJob"),
    ("coordination.k8s.io/v1", "Lease"),
    ("coordination.k8s.io/v1beta1", "Lease"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"),
    ("events.k8s.io/v1", "Event"),
    ("events.k8s.io/v1beta1", "Event"),
    ("extensions/v1beta1", "Ingress"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1beta1", "Ingress"),
    ("policy/v1", "PodDisruptionBudget"),
    ("policy/v1beta1", "PodDisruptionBudget"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "Role"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"),
    ("v1", "ConfigMap"),
    ("v1", "Endpoints"),
    ("v1", "Event"),
    ("v1", "LimitRange"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Pod"),
    ("v1", "PodAttachOptions"),
    ("v1", "PodExecOptions"),
    ("v1", "PodPortForwardOptions"),
    ("v1", "PodProxyOptions"),
    ("v1", "PodTemplate"),
    ("v1", "ReplicationController"),
    ("v1", "ResourceQuota"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("v1", "ServiceProxyOptions"),
];

/// Whether kyaml answers a scope check on `api_version`/`kind` from its precomputed table.
pub fn is_precomputed(api_version: &str, kind: &str) -> bool {
    CLUSTER_SCOPED
        .iter()
        .chain(NAMESPACED)
        .any(|(v, k)| *v == api_version && *k == kind)
}

/// True when kustomize knows `apiVersion`/`kind` to be cluster-scoped, with `apiVersion`
/// given as group and version (`group/version`, or the version alone for the core group):
/// compared in place, since this is asked for every object many times.
pub fn is_cluster_scoped(group: &str, version: &str, kind: &str) -> bool {
    in_table(group, version, kind) || super::openapi::declares_cluster_scoped(group, version, kind)
}

fn in_table(group: &str, version: &str, kind: &str) -> bool {
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
