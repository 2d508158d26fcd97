//! Applying an artifact with tenants: the platform's objects first, with the caller's rights;
//! then each tenant's objects as the tenant's ServiceAccount (HTTP impersonation:
//! `Impersonate-User: system:serviceaccount:NS:NAME` and its groups), in an ApplySet inventory
//! of its own that lives in the tenant's first namespace. Every request of a tenant's apply
//! (discovery, its lock, its inventory, each object, its prune, its health reads) goes through
//! the impersonating client, so the API server's RBAC decides what the tenant may do, and a
//! tenant's prune can only ever see its own inventory's members.
//!
//! A tenant the API server refuses fails alone: its report carries the server's message and
//! the other tenants and the platform are applied all the same.

use super::report::TenantReport;
use super::run::{apply, ApplyError, ApplyProgress};
use super::source::Artifact;
use super::{ApplyOptions, ApplyReport};
use crate::manifest::ObjRef;
use crate::tenancy::TenantIdentity;
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};

/// Makes a client that acts as a tenant.
pub trait Impersonate: Send + Sync {
    fn client_as(&self, tenant: &TenantIdentity) -> Result<Client, String>;
}

/// The caller's own connection settings, with the tenant's identity added on every request.
impl Impersonate for kube::Config {
    fn client_as(&self, tenant: &TenantIdentity) -> Result<Client, String> {
        let mut config = self.clone();
        config.auth_info.impersonate = Some(tenant.user());
        config.auth_info.impersonate_groups = Some(tenant.groups());
        Client::try_from(config)
            .map_err(|e| format!("cannot create the client for {}: {e}", tenant.user()))
    }
}

/// The inventory parent's name of a tenant, beside the platform's (`ferry-<env>` or
/// `--inventory-name`): `<platform>-<tenant>`, in the tenant's first namespace.
pub fn tenant_inventory(
    opts: &ApplyOptions,
    environment: &str,
    tenant: &str,
    identity: &TenantIdentity,
) -> (String, String) {
    let base = opts
        .inventory_name
        .clone()
        .unwrap_or_else(|| format!("ferry-{environment}"));
    (
        identity.namespaces.first().cloned().unwrap_or_default(),
        format!("{base}-{tenant}"),
    )
}

/// Splits the artifact into the platform's part and one part per tenant, in tenant name order.
fn split(artifact: Artifact) -> (Artifact, Vec<(String, TenantIdentity, Artifact)>) {
    let Artifact {
        environment,
        digest,
        revision,
        objects,
        tenants,
        wait,
    } = artifact;
    let part = |objects| Artifact {
        environment: environment.clone(),
        digest: digest.clone(),
        revision: revision.clone(),
        objects,
        tenants: BTreeMap::new(),
        wait: wait.clone(),
    };
    let mut theirs: BTreeMap<&str, Vec<crate::manifest::Object>> = BTreeMap::new();
    let mut platform = Vec::new();
    for obj in objects {
        let r = obj.obj_ref();
        match tenants.iter().find(|(_, m)| m.objects.contains(&r)) {
            Some((name, _)) => theirs.entry(name.as_str()).or_default().push(obj),
            None => platform.push(obj),
        }
    }
    let parts = tenants
        .iter()
        .map(|(name, m)| {
            let objects = theirs.remove(name.as_str()).unwrap_or_default();
            (name.clone(), m.identity.clone(), part(objects))
        })
        .collect();
    (part(platform), parts)
}

/// Applies the platform's objects with `client`, then each tenant's as the tenant. An `Err`
/// means the platform's apply could not run (no tenant was applied then either: the tenants'
/// namespaces and ServiceAccounts are the platform's to create); a tenant that could not run
/// is reported in [`ApplyReport::tenants`].
pub async fn apply_with_tenants(
    client: &Client,
    impersonate: &dyn Impersonate,
    artifact: Artifact,
    opts: &ApplyOptions,
    progress: &dyn ApplyProgress,
) -> Result<ApplyReport, ApplyError> {
    let (platform, parts) = split(artifact);
    let environment = platform.environment.clone();
    // What each set applies, so that no set prunes what another one now holds.
    let refs =
        |a: &Artifact| -> BTreeSet<ObjRef> { a.objects.iter().map(|o| o.obj_ref()).collect() };
    let platform_refs = refs(&platform);
    let tenant_refs: BTreeSet<ObjRef> = parts.iter().flat_map(|(_, _, a)| refs(a)).collect();
    let with_elsewhere = |o: &ApplyOptions, mine: &BTreeSet<ObjRef>| {
        let mut o = o.clone();
        o.prune.elsewhere = platform_refs
            .union(&tenant_refs)
            .filter(|r| !mine.contains(*r))
            .cloned()
            .collect();
        o
    };
    let mut report = apply(
        client,
        platform,
        &with_elsewhere(opts, &platform_refs),
        progress,
    )
    .await?;
    for (name, identity, part) in parts {
        let user = identity.user();
        if opts.cancelled() {
            report.tenants.push(TenantReport {
                tenant: name,
                user,
                report: None,
                error: Some("not applied: the apply was interrupted (shutdown or timeout)".into()),
            });
            continue;
        }
        let (namespace, inventory) = tenant_inventory(opts, &environment, &name, &identity);
        let tenant_opts = ApplyOptions {
            inventory_namespace: namespace,
            inventory_name: Some(inventory),
            forget_forbidden: true,
            ..with_elsewhere(opts, &refs(&part))
        };
        let outcome = match impersonate.client_as(&identity) {
            Ok(c) => apply(&c, part, &tenant_opts, progress)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        report.tenants.push(match outcome {
            Ok(r) => TenantReport {
                tenant: name,
                user,
                report: Some(Box::new(r)),
                error: None,
            },
            Err(e) => TenantReport {
                tenant: name,
                user,
                report: None,
                error: Some(e),
            },
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::source::TenantMembers;
    use crate::manifest::Object;
    use serde_json::json;

    fn cm(ns: &str, name: &str) -> Object {
        Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}))
            .expect("object")
    }

    #[test]
    fn split_gives_each_tenant_its_objects_and_the_rest_to_the_platform() {
        let identity = TenantIdentity {
            namespaces: vec!["a".into()],
            service_account: "a/ferry".into(),
        };
        let artifact = Artifact {
            environment: "prod".into(),
            digest: "sha256:00".into(),
            revision: None,
            objects: vec![cm("a", "x"), cm("p", "y"), cm("b", "z")],
            wait: None,
            tenants: BTreeMap::from([
                (
                    "a".to_string(),
                    TenantMembers {
                        identity: identity.clone(),
                        objects: [cm("a", "x").obj_ref()].into(),
                    },
                ),
                (
                    "b".to_string(),
                    TenantMembers {
                        identity: identity.clone(),
                        objects: [cm("b", "z").obj_ref()].into(),
                    },
                ),
                (
                    "c".to_string(),
                    TenantMembers {
                        identity,
                        objects: Default::default(),
                    },
                ),
            ]),
        };
        let (platform, parts) = split(artifact);
        assert_eq!(platform.objects, [cm("p", "y")]);
        let names: Vec<(&str, usize)> = parts
            .iter()
            .map(|(n, _, a)| (n.as_str(), a.objects.len()))
            .collect();
        // A tenant with no objects left still applies: its prune removes what it had.
        assert_eq!(names, [("a", 1), ("b", 1), ("c", 0)]);
        assert!(parts.iter().all(|(_, _, a)| a.tenants.is_empty()));
    }
}
