//! The agent's requests for Sync objects and their Secrets: list, read, write status.

use super::spec::{SecretKeyRef, GROUP, KIND, PLURAL, VERSION};
use super::status::SyncStatus;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Value};
use zeroize::Zeroizing;

pub const FIELD_MANAGER: &str = "ferry-agent";

pub fn resource() -> ApiResource {
    ApiResource {
        group: GROUP.into(),
        version: VERSION.into(),
        api_version: format!("{GROUP}/{VERSION}"),
        kind: KIND.into(),
        plural: PLURAL.into(),
    }
}

/// Syncs in `namespace`, or in every namespace.
pub fn api(client: &Client, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource()),
        None => Api::all_with(client.clone(), &resource()),
    }
}

/// Every Sync object (as JSON) the agent watches.
pub async fn list(client: &Client, namespace: Option<&str>) -> Result<Vec<Value>, kube::Error> {
    Ok(list_at(client, namespace).await?.0)
}

/// Every Sync object (as JSON) and the list's resourceVersion, where a watch starts.
pub async fn list_at(
    client: &Client,
    namespace: Option<&str>,
) -> Result<(Vec<Value>, String), kube::Error> {
    let list = api(client, namespace).list(&ListParams::default()).await?;
    let version = list.metadata.resource_version.unwrap_or_default();
    let items = list
        .items
        .into_iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .collect();
    Ok((items, version))
}

/// How long one watch request stays open; the agent then watches again from where it was.
pub const WATCH_SECONDS: u32 = 60;

/// The changes to the Syncs after `version`, as the API server streams them.
pub async fn watch(
    client: &Client,
    namespace: Option<&str>,
    version: &str,
) -> Result<
    impl futures::Stream<Item = Result<kube::api::WatchEvent<DynamicObject>, kube::Error>>,
    kube::Error,
> {
    let params = kube::api::WatchParams {
        bookmarks: true,
        ..kube::api::WatchParams::default()
    }
    .timeout(WATCH_SECONDS);
    api(client, namespace).watch(&params, version).await
}

/// One Sync object, `None` when it is gone.
pub async fn get(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Value>, kube::Error> {
    let o = api(client, Some(namespace)).get_opt(name).await?;
    Ok(o.and_then(|o| serde_json::to_value(o).ok()))
}

/// Writes the whole status with a server-side apply of the status subresource: fields the
/// agent set before and no longer sets (a cleared error) are removed.
pub async fn write_status(
    client: &Client,
    namespace: &str,
    name: &str,
    status: &SyncStatus,
) -> Result<(), kube::Error> {
    let body = json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api(client, Some(namespace))
        .patch_status(name, &params, &Patch::Apply(&body))
        .await
        .map(|_| ())
}

/// Merges `patch` into the Sync (spec or metadata): `ferry suspend`, `resume`, `reconcile`.
pub async fn patch(
    client: &Client,
    namespace: &str,
    name: &str,
    patch: &Value,
) -> Result<Value, kube::Error> {
    let o = api(client, Some(namespace))
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(serde_json::to_value(o).unwrap_or_default())
}

/// The text of `r`'s key in a Secret of `namespace`, wiped from memory when dropped.
pub async fn secret_key(
    client: &Client,
    namespace: &str,
    r: &SecretKeyRef,
    field: &str,
) -> Result<Zeroizing<String>, String> {
    crate::apply::tenant_keys::secret_key(client, namespace, &r.name, &r.key)
        .await
        .map_err(|e| format!("{field}: {e}"))
}
