//! The `tenants:` section of `ferry.yaml`: who owns which namespaces, the ServiceAccount a
//! tenant's objects are applied as, what a tenant may create beyond its namespaces, and which
//! apps are the tenant's. An app named by no tenant is the platform's.
//!
//! Only the shape is checked here; what a tenant's rendered objects may hold is
//! `crate::tenancy`'s job.

use super::{is_dns_label, ConfigError, Pipeline};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The ServiceAccount a tenant applies as when `serviceAccount:` is not given.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "ferry";

/// One tenant, keyed by its name.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tenant {
    /// The namespaces the tenant's objects may live in; the first one holds its ServiceAccount
    /// (unless `serviceAccount` names another) and its ApplySet inventory.
    pub namespaces: Vec<String>,
    /// `NAME` (in the first namespace) or `NAMESPACE/NAME` [default: `ferry`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Cluster-scoped kinds (`group/Kind`, or `Kind` for the core group) the tenant may create;
    /// none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_cluster_scoped: Vec<String>,
    /// ClusterRoles the tenant's RoleBindings may grant; none by default (Roles of its own
    /// namespaces are always allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_cluster_roles: Vec<String>,
    /// The apps that are the tenant's; an app belongs to at most one tenant.
    #[serde(default)]
    pub apps: Vec<String>,
    /// age public keys of the tenant: its Secrets are sealed to them (and to the environment's
    /// recipients unless `platformRecipients: false`). Empty: the environment's, as any app's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// Whether the environment's recipients (the platform's cluster key) open the tenant's
    /// Secrets too [default: true]; only with `recipients`.
    #[serde(default = "default_true")]
    pub platform_recipients: bool,
    /// The tenant's age identity for `ferry apply` and the agent: a Secret in its first
    /// namespace, read as the tenant. Recorded in `index.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<crate::tenancy::Decryption>,
}

fn default_true() -> bool {
    true
}

impl Tenant {
    /// The age recipients the tenant's Secrets are sealed to in an environment whose own
    /// recipients are `env`.
    pub fn seal_recipients(&self, env: &[String]) -> Vec<String> {
        if self.recipients.is_empty() {
            return env.to_vec();
        }
        let mut all = self.recipients.clone();
        if self.platform_recipients {
            all.extend(env.iter().filter(|r| !self.recipients.contains(r)).cloned());
        }
        all
    }

    /// The ServiceAccount as `(namespace, name)`.
    pub fn service_account(&self) -> (String, String) {
        let first = self.namespaces.first().cloned().unwrap_or_default();
        match self.service_account.as_deref() {
            Some(s) => match s.split_once('/') {
                Some((ns, name)) => (ns.to_string(), name.to_string()),
                None => (first, s.to_string()),
            },
            None => (first, DEFAULT_SERVICE_ACCOUNT.to_string()),
        }
    }
}

/// `group/Kind` or `Kind`: at most one `/`, a kind that starts with a capital letter.
pub(super) fn check_kind_ref(k: &str) -> bool {
    let kind = k.rsplit('/').next().unwrap_or(k);
    !k.is_empty()
        && k.matches('/').count() <= 1
        && kind.starts_with(|c: char| c.is_ascii_uppercase())
        && kind.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A DNS subdomain, the shape of a ServiceAccount's and a ClusterRole's name.
fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

type ErrFn<'a> = &'a dyn Fn(&str, String, Option<&str>) -> ConfigError;

impl Pipeline {
    /// The tenant an app belongs to, `None` for the platform.
    pub fn tenant_of(&self, app: &str) -> Option<(&str, &Tenant)> {
        self.tenants
            .iter()
            .find(|(_, t)| t.apps.iter().any(|a| a == app))
            .map(|(n, t)| (n.as_str(), t))
    }

    pub(super) fn validate_tenants(&self, err: ErrFn<'_>) -> Result<(), ConfigError> {
        // Namespace and app owners seen so far, for "claimed by two tenants" errors.
        let mut ns_owner: BTreeMap<&str, &str> = BTreeMap::new();
        let mut app_owner: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, t) in &self.tenants {
            let key = format!("tenants.{name}");
            if !is_dns_label(name) || name == "platform" {
                return Err(err(
                    &key,
                    format!("`{name}` is not a valid tenant name"),
                    Some("use lower-case letters, digits and `-` (`platform` is reserved for apps of no tenant)"),
                ));
            }
            if t.namespaces.is_empty() {
                return Err(err(
                    &format!("{key}.namespaces"),
                    "a tenant needs at least one namespace".into(),
                    Some("e.g. `namespaces: [team-a]`"),
                ));
            }
            for (i, ns) in t.namespaces.iter().enumerate() {
                let k = format!("{key}.namespaces[{i}]");
                if !is_dns_label(ns) {
                    return Err(err(
                        &k,
                        format!("`{ns}` is not a valid namespace name"),
                        None,
                    ));
                }
                if let Some(other) = ns_owner.insert(ns, name) {
                    let msg = if other == name {
                        format!("namespace `{ns}` is listed twice")
                    } else {
                        format!("namespace `{ns}` is already tenant `{other}`'s")
                    };
                    return Err(err(
                        &k,
                        msg,
                        Some("a namespace belongs to one tenant; give each tenant its own"),
                    ));
                }
            }
            if let Some(sa) = &t.service_account {
                let k = format!("{key}.serviceAccount");
                let (ns, sa_name) = t.service_account();
                if sa.matches('/').count() > 1 || !is_dns_subdomain(&sa_name) {
                    return Err(err(
                        &k,
                        format!("`{sa}` is not `NAME` or `NAMESPACE/NAME`"),
                        None,
                    ));
                }
                if !t.namespaces.contains(&ns) {
                    return Err(err(
                        &k,
                        format!("namespace `{ns}` is not one of the tenant's namespaces"),
                        Some("the ServiceAccount lives in one of the tenant's own namespaces"),
                    ));
                }
            }
            for (i, kind) in t.allow_cluster_scoped.iter().enumerate() {
                if !check_kind_ref(kind) {
                    return Err(err(
                        &format!("{key}.allowClusterScoped[{i}]"),
                        format!("`{kind}` is not `group/Kind` or `Kind`"),
                        Some("e.g. `rbac.authorization.k8s.io/ClusterRole` or `Namespace`"),
                    ));
                }
            }
            for (i, role) in t.allow_cluster_roles.iter().enumerate() {
                if !is_dns_subdomain(role) && !role.starts_with("system:") {
                    return Err(err(
                        &format!("{key}.allowClusterRoles[{i}]"),
                        format!("`{role}` is not a ClusterRole name"),
                        None,
                    ));
                }
            }
            for (i, r) in t.recipients.iter().enumerate() {
                if !r.starts_with("age1") || r.contains(char::is_whitespace) {
                    return Err(err(
                        &format!("{key}.recipients[{i}]"),
                        format!("`{r}` is not an age public key"),
                        Some("give the tenant's age recipient, `age1...` (`ferry keygen` prints one)"),
                    ));
                }
            }
            if let Some(d) = &t.decryption {
                let r = &d.secret_ref;
                if !is_dns_subdomain(&r.name) {
                    return Err(err(
                        &format!("{key}.decryption.secretRef.name"),
                        format!("`{}` is not a Secret name", r.name),
                        Some(&format!(
                            "the Secret in namespace `{}` holding the tenant's age identity",
                            t.namespaces.first().map_or("", String::as_str)
                        )),
                    ));
                }
                let key_ok = !r.key.is_empty()
                    && r.key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                if !key_ok {
                    return Err(err(
                        &format!("{key}.decryption.secretRef.key"),
                        format!("`{}` is not a Secret key", r.key),
                        Some("letters, digits, `-`, `_` and `.` [default: age.agekey]"),
                    ));
                }
            }
            if !t.platform_recipients && t.recipients.is_empty() {
                return Err(err(
                    &format!("{key}.platformRecipients"),
                    "`platformRecipients: false` without `recipients` would seal the tenant's Secrets to no one".into(),
                    Some("add the tenant's age recipients, or remove platformRecipients"),
                ));
            }
            for (i, app) in t.apps.iter().enumerate() {
                let k = format!("{key}.apps[{i}]");
                let Some(a) = self.apps.get(app) else {
                    let known: Vec<&str> = self.apps.keys().map(String::as_str).collect();
                    return Err(err(
                        &k,
                        format!("unknown app `{app}`"),
                        Some(&format!("apps in ferry.yaml: {}", known.join(", "))),
                    ));
                };
                if let Some(other) = app_owner.insert(app, name) {
                    let msg = if other == name {
                        format!("app `{app}` is listed twice")
                    } else {
                        format!("app `{app}` already belongs to tenant `{other}`")
                    };
                    return Err(err(
                        &k,
                        msg,
                        Some("an app belongs to one tenant, or to none (the platform)"),
                    ));
                }
                // The app's own namespace setting is checked here, before anything renders.
                let own = a
                    .namespace
                    .iter()
                    .map(|n| (format!("apps.{app}.namespace"), n));
                let per_env = a.overrides.iter().filter_map(|(e, o)| {
                    o.namespace
                        .as_ref()
                        .map(|n| (format!("apps.{app}.overrides.{e}.namespace"), n))
                });
                for (field, ns) in own.chain(per_env) {
                    if !t.namespaces.contains(ns) {
                        return Err(err(
                            &field,
                            format!(
                                "namespace `{ns}` is not one of tenant `{name}`'s namespaces ({})",
                                t.namespaces.join(", ")
                            ),
                            Some("the app belongs to that tenant (tenants.{name}.apps); use one of its namespaces"),
                        ));
                    }
                }
                if a.namespace.is_none() {
                    return Err(err(
                        &format!("apps.{app}"),
                        format!(
                            "app `{app}` belongs to tenant `{name}` and sets no `namespace`"
                        ),
                        Some(&format!(
                            "add `namespace: {}` so objects without one land in the tenant's namespace",
                            t.namespaces[0]
                        )),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const BASE: &str = "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod: {}\napps:\n  web:\n    namespace: team-a\n    path: web\n  api:\n    namespace: team-b\n    path: api\n";

    fn parse(tenants: &str) -> Result<crate::config::Pipeline, String> {
        crate::config::parse(
            Path::new("ferry.yaml"),
            &format!("{BASE}tenants:\n{tenants}"),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_valid_tenant_resolves_its_service_account_and_apps() {
        let p = parse("  team-a:\n    namespaces: [team-a, team-a-dev]\n    apps: [web]\n  team-b:\n    namespaces: [team-b]\n    serviceAccount: team-b/deployer\n    allowClusterRoles: [view]\n    apps: [api]\n").expect("valid");
        let (name, a) = p.tenant_of("web").expect("web is team-a's");
        assert_eq!(name, "team-a");
        assert_eq!(a.service_account(), ("team-a".into(), "ferry".into()));
        let (_, b) = p.tenant_of("api").expect("api is team-b's");
        assert_eq!(b.service_account(), ("team-b".into(), "deployer".into()));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "  team-a:\n    namespaces: []\n",
                "ferry.yaml:14: tenants.team-a.namespaces: a tenant needs at least one namespace",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    apps: [nope]\n",
                "ferry.yaml:15: tenants.team-a.apps[0]: unknown app `nope`",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    apps: [web]\n  team-b:\n    namespaces: [team-a]\n",
                "tenants.team-b.namespaces[0]: namespace `team-a` is already tenant `team-a`'s",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    apps: [web]\n  team-b:\n    namespaces: [team-b]\n    apps: [web]\n",
                "tenants.team-b.apps[0]: app `web` already belongs to tenant `team-a`",
            ),
            (
                "  team-a:\n    namespaces: [team-c]\n    apps: [web]\n",
                "ferry.yaml:7: apps.web.namespace: namespace `team-a` is not one of tenant `team-a`'s namespaces (team-c)",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    serviceAccount: other/ferry\n",
                "tenants.team-a.serviceAccount: namespace `other` is not one of the tenant's namespaces",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    allowClusterScoped: [widgets]\n",
                "tenants.team-a.allowClusterScoped[0]: `widgets` is not `group/Kind` or `Kind`",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    recipients: [ssh-ed25519]\n",
                "tenants.team-a.recipients[0]: `ssh-ed25519` is not an age public key",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    platformRecipients: false\n",
                "tenants.team-a.platformRecipients: `platformRecipients: false` without `recipients`",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    decryption: {secretRef: {name: Keys}}\n",
                "tenants.team-a.decryption.secretRef.name: `Keys` is not a Secret name",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    decryption: {secretRef: {name: keys, key: \"a/b\"}}\n",
                "tenants.team-a.decryption.secretRef.key: `a/b` is not a Secret key",
            ),
            (
                "  platform:\n    namespaces: [x]\n",
                "tenants.platform: `platform` is not a valid tenant name",
            ),
            (
                "  team-a:\n    namespaces: [team-a]\n    roles: [x]\n",
                "ferry.yaml:15: tenants.team-a.roles: unknown field `roles`",
            ),
        ];
        for (tenants, want) in cases {
            let got = parse(tenants).expect_err(tenants);
            assert!(got.contains(want), "{tenants}\nwant: {want}\ngot:  {got}");
        }
    }
}
