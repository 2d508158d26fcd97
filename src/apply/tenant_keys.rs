//! Opening a tenant's sealed Secrets at apply time. A tenant's Secrets may be sealed to the
//! tenant's recipients only (`platformRecipients: false`): the platform's identity then cannot
//! open them, and the tenant's own identity must. It comes, per tenant, from what the caller
//! was given (`ferry apply --tenant-identity NAME=FILE`) or from the Secret the tenant's
//! `decryption.secretRef` names, read *as the tenant* from its first namespace (Flux's
//! per-Kustomization `decryption.secretRef`). Identities stay in memory; each tenant's
//! identity is only ever tried on that tenant's own objects, so it never opens another's.

use super::source::{is_sealed, unseal, Artifact, Decryptor, SourceError};
use crate::manifest::Object;
use crate::tenancy::TenantIdentity;
use kube::api::Api;
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use zeroize::Zeroizing;

/// Turns the text of an identity file (read from a Secret) into a decryptor; the secrets
/// module provides it, so that `apply` does not depend on how identities are parsed.
pub trait IdentityParser: Send + Sync {
    fn decryptor(&self, text: &str, origin: &str) -> Result<Box<dyn Decryptor>, String>;
}

/// Where tenants' identities come from.
#[derive(Default)]
pub struct TenantKeys<'a> {
    /// Given by the caller, per tenant name; they win over the tenant's `decryption`.
    pub given: BTreeMap<String, Box<dyn Decryptor + 'a>>,
    /// Parses what a tenant's decryption Secret holds; `None`: those Secrets are not read.
    pub parser: Option<&'a dyn IdentityParser>,
}

/// Opens the platform's sealed objects with `decryptor` (each must open, as before tenants);
/// a tenant's sealed object is opened when the platform's identity opens it (it was sealed to
/// the platform's recipients too) and left sealed otherwise, for the tenant's own identity.
///
/// # Errors
/// A platform object that does not open, or no decryptor with a sealed platform object.
pub fn open_platform(
    mut artifact: Artifact,
    decryptor: Option<&dyn Decryptor>,
) -> Result<Artifact, SourceError> {
    let tenants: BTreeSet<_> = artifact
        .tenants
        .values()
        .flat_map(|m| m.objects.iter().cloned())
        .collect();
    let (theirs, platform): (Vec<Object>, Vec<Object>) = std::mem::take(&mut artifact.objects)
        .into_iter()
        .partition(|o| tenants.contains(&o.obj_ref()));
    let mut objects = unseal(platform, decryptor)?;
    objects.extend(theirs.into_iter().map(|o| match decryptor {
        Some(d) if is_sealed(&o) => match unseal(vec![o.clone()], Some(d)) {
            Ok(mut open) => open.pop().unwrap_or(o),
            Err(_) => o,
        },
        _ => o,
    }));
    artifact.objects = objects;
    Ok(artifact)
}

/// Opens what is still sealed among one tenant's `objects` with the tenant's own identity;
/// `client` acts as the tenant. An error fails that tenant alone.
///
/// # Errors
/// No identity for the tenant, a decryption Secret the tenant cannot read, or an object its
/// identity does not open (the message never holds a value).
pub async fn open_tenant(
    client: &Client,
    name: &str,
    tenant: &TenantIdentity,
    objects: Vec<Object>,
    keys: &TenantKeys<'_>,
) -> Result<Vec<Object>, String> {
    let Some(first) = objects.iter().find(|o| is_sealed(o)).map(|o| o.obj_ref()) else {
        return Ok(objects);
    };
    let read;
    let decryptor: &dyn Decryptor = match (keys.given.get(name), &tenant.decryption, keys.parser)
    {
        (Some(d), _, _) => d.as_ref(),
        (None, Some(d), Some(parser)) => {
            let ns = tenant.namespaces.first().map_or("", String::as_str);
            let r = &d.secret_ref;
            let text = secret_key(client, ns, &r.name, &r.key)
                .await
                .map_err(|e| format!("the tenant's decryption identity: {e} (read as {})", tenant.user()))?;
            read = parser.decryptor(
                &text,
                &format!("Secret {ns}/{} key {} (tenant `{name}`)", r.name, r.key),
            )?;
            read.as_ref()
        }
        _ => {
            return Err(format!(
                "{first} is sealed for tenant `{name}` and the platform's identity does not open it, but no identity of the tenant is configured; hint: set tenants.{name}.decryption.secretRef in ferry.yaml (a Secret in namespace {} holding the tenant's age identity), or pass --tenant-identity {name}=FILE",
                tenant.namespaces.first().map_or("", String::as_str)
            ))
        }
    };
    unseal(objects, Some(decryptor)).map_err(|e| format!("tenant `{name}`'s identity: {e}"))
}

/// The text of `key` in Secret `namespace/name`, wiped from memory when dropped.
///
/// # Errors
/// The Secret or its key is missing, the request is refused, or the value is not UTF-8.
pub async fn secret_key(
    client: &Client,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<Zeroizing<String>, String> {
    let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|e| format!("reading Secret {namespace}/{name}: {e}"))?
        .ok_or_else(|| {
            format!(
                "Secret {namespace}/{name} not found; hint: create it (kubectl create secret generic {name} -n {namespace} --from-file={key}=FILE)"
            )
        })?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| Zeroizing::new(b.0.clone()))
        .ok_or_else(|| format!("Secret {namespace}/{name} has no key `{key}`"))?;
    String::from_utf8(bytes.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| format!("Secret {namespace}/{name} key `{key}` is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::source::TenantMembers;
    use serde_json::json;

    fn secret(ns: &str, sealed: bool) -> Object {
        let mut v = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": ns}, "data": {"k": "ENC[x]"}});
        if sealed {
            v["sops"] = json!({"age": []});
        }
        Object::from_value(v).expect("object")
    }

    /// Opens what sits in the namespaces it was given, as the platform's identity would open
    /// what was sealed to the platform's recipients.
    struct Opens(&'static [&'static str]);

    impl Decryptor for Opens {
        fn decrypt(&self, o: &Object) -> Result<Object, String> {
            if !self.0.contains(&o.namespace().unwrap_or_default()) {
                return Err("no identity opens it".into());
            }
            let mut v = o.value().clone();
            v.as_object_mut().expect("map").remove("sops");
            Object::from_value(v).map_err(|e| e.to_string())
        }
    }

    fn artifact() -> Artifact {
        let identity = TenantIdentity {
            namespaces: vec!["a".into()],
            service_account: "a/ferry".into(),
            decryption: None,
        };
        Artifact {
            environment: "prod".into(),
            digest: "sha256:00".into(),
            revision: None,
            objects: vec![secret("p", true), secret("a", true), secret("b", true)],
            tenants: BTreeMap::from([
                (
                    "a".to_string(),
                    TenantMembers {
                        identity: identity.clone(),
                        objects: [secret("a", true).obj_ref()].into(),
                    },
                ),
                (
                    "b".to_string(),
                    TenantMembers {
                        identity,
                        objects: [secret("b", true).obj_ref()].into(),
                    },
                ),
            ]),
            wait: None,
        }
    }

    #[test]
    fn the_platform_must_open_its_own_and_opens_a_tenants_only_when_it_can() {
        // The platform's identity opens its own and tenant a's (sealed to both), not b's.
        let a = open_platform(artifact(), Some(&Opens(&["p", "a"]))).expect("opens");
        let sealed: Vec<String> = a
            .objects
            .iter()
            .filter(|o| is_sealed(o))
            .map(|o| o.obj_ref().to_string())
            .collect();
        assert_eq!(sealed, ["Secret/b/db"]);
        // A platform Secret that does not open fails the whole apply, as without tenants.
        let err = open_platform(artifact(), Some(&Opens(&["a", "b"]))).unwrap_err();
        assert!(err.to_string().contains("Secret/p/db"), "{err}");
    }
}
