//! Multi-tenancy: what a tenant's rendered objects may hold (checked by `ferry build`, before
//! anything reaches a cluster), and the tenant identities an artifact carries to `ferry apply`,
//! which applies each tenant's objects as the tenant's ServiceAccount so that the API server's
//! RBAC, not ferry's goodwill, keeps a tenant inside its namespaces.
//!
//! The build-time rules ([`rules`]) are the early warning in the pull request; the API server
//! remains the authority (a rule ferry lacks is still refused by RBAC at apply time).

pub mod onboard;
pub mod rules;

pub use rules::{check_objects, Rule, Violation};

use serde::{Deserialize, Serialize};

/// A tenant as `index.json` records it for the cluster side: enough to impersonate it and to
/// place its inventory, without `ferry.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantIdentity {
    /// The tenant's namespaces; the first one holds its ApplySet inventory and lock.
    pub namespaces: Vec<String>,
    /// `NAMESPACE/NAME` of the ServiceAccount its objects are applied as.
    pub service_account: String,
    /// Where the tenant's age identity is, for its Secrets the platform's identity cannot open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
}

/// A tenant's decryption identity, as Flux's per-Kustomization `decryption.secretRef`: a
/// Secret in the tenant's first namespace, read as the tenant (so its own RBAC must let it),
/// whose key holds one or more age identities. Read into memory for the apply, never written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decryption {
    pub secret_ref: SecretRef,
}

/// A key of a Secret in the tenant's first namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub name: String,
    /// [default: `age.agekey`]
    #[serde(default = "default_key")]
    pub key: String,
}

/// The key a tenant's decryption Secret holds its identity under when `key` is not given.
pub const DEFAULT_IDENTITY_KEY: &str = "age.agekey";

fn default_key() -> String {
    DEFAULT_IDENTITY_KEY.to_string()
}

impl TenantIdentity {
    pub fn from_config(t: &crate::config::Tenant) -> TenantIdentity {
        let (ns, name) = t.service_account();
        TenantIdentity {
            namespaces: t.namespaces.clone(),
            service_account: format!("{ns}/{name}"),
            decryption: t.decryption.clone(),
        }
    }

    /// `Impersonate-User`: `system:serviceaccount:NS:NAME`.
    pub fn user(&self) -> String {
        let (ns, name) = self.service_account_parts();
        format!("system:serviceaccount:{ns}:{name}")
    }

    /// `Impersonate-Group`s: the groups the API server gives a ServiceAccount of its own.
    /// (`system:authenticated` the server adds to every impersonated user by itself; asking
    /// for it would only need one more `impersonate` grant.)
    pub fn groups(&self) -> Vec<String> {
        let (ns, _) = self.service_account_parts();
        vec![
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{ns}"),
        ]
    }

    fn service_account_parts(&self) -> (&str, &str) {
        self.service_account
            .split_once('/')
            .unwrap_or(("", self.service_account.as_str()))
    }
}
