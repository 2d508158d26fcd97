//! Apply stages: which objects must be in the cluster before others are sent, as Flux's ssa orders them.

use crate::manifest::{apply_rank, Scope, ScopeTable};
use serde::Serialize;
use std::fmt;

/// The stages of one apply, in the order they run. Objects in one stage apply in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// CustomResourceDefinitions and Namespaces: everything else may live in or be typed by them.
    Definitions,
    /// Cluster-wide objects: ClusterRoles and their bindings, StorageClasses, PriorityClasses, ...
    Cluster,
    /// Everything namespaced and every custom resource.
    Resources,
    /// Admission webhooks and policies, last so they cannot reject the objects they would admit.
    Webhooks,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Definitions,
        Stage::Cluster,
        Stage::Resources,
        Stage::Webhooks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Definitions => "definitions",
            Stage::Cluster => "cluster",
            Stage::Resources => "resources",
            Stage::Webhooks => "webhooks",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The stage of a kind. `scopes` knows the built-in cluster-scoped kinds and those the
/// artifact's own CRDs define; anything else is taken as namespaced.
pub fn stage_of(group: &str, kind: &str, scopes: &ScopeTable) -> Stage {
    match apply_rank(group, kind) {
        0 | 1 => Stage::Definitions,
        20 => Stage::Webhooks,
        _ if scopes.scope_of(group, kind) == Scope::Cluster => Stage::Cluster,
        _ => Stage::Resources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_follow_the_api_servers_needs() {
        let t = ScopeTable::default();
        assert_eq!(
            stage_of("apiextensions.k8s.io", "CustomResourceDefinition", &t),
            Stage::Definitions
        );
        assert_eq!(stage_of("", "Namespace", &t), Stage::Definitions);
        assert_eq!(
            stage_of("rbac.authorization.k8s.io", "ClusterRole", &t),
            Stage::Cluster
        );
        assert_eq!(
            stage_of("rbac.authorization.k8s.io", "ClusterRoleBinding", &t),
            Stage::Cluster
        );
        assert_eq!(
            stage_of("rbac.authorization.k8s.io", "RoleBinding", &t),
            Stage::Resources
        );
        assert_eq!(stage_of("apps", "Deployment", &t), Stage::Resources);
        assert_eq!(
            stage_of(
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration",
                &t
            ),
            Stage::Webhooks
        );
        assert!(Stage::Definitions < Stage::Cluster && Stage::Resources < Stage::Webhooks);
    }

    #[test]
    fn cluster_scoped_custom_kinds_learned_from_crds_go_to_the_cluster_stage() {
        let mut t = ScopeTable::default();
        assert_eq!(
            stage_of("cert-manager.io", "ClusterIssuer", &t),
            Stage::Resources
        );
        t.insert("cert-manager.io", "ClusterIssuer", Scope::Cluster);
        assert_eq!(
            stage_of("cert-manager.io", "ClusterIssuer", &t),
            Stage::Cluster
        );
    }
}
