//! The cluster side of `cargo xtask bench apply`: a kube-rs client from the kubeconfig, fresh
//! namespaces and their cleanup, and the API server's ceiling, measured by a minimal client.

use anyhow::{Context, Result};
use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

pub async fn client(kubeconfig: &Path) -> Result<Client> {
    let kc = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("cannot read kubeconfig {}", kubeconfig.display()))?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .with_context(|| format!("kubeconfig {}", kubeconfig.display()))?;
    Client::try_from(config).context("cannot create the Kubernetes client")
}

fn resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", kind))
}

fn configmaps(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &resource("ConfigMap"))
}

/// Creates an empty namespace (outside any timing).
pub async fn create_namespace(client: &Client, name: &str) -> Result<()> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource("Namespace"));
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    api.patch(
        name,
        &PatchParams::apply("ferry-bench"),
        &Patch::Apply(&body),
    )
    .await
    .with_context(|| format!("cannot create namespace {name}"))?;
    Ok(())
}

/// Deletes the namespaces and waits (up to a minute) until they are gone, so that the next
/// run starts from an empty cluster. Failures are reported, not fatal: this runs last.
pub async fn delete_namespaces(client: &Client, names: &[String]) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource("Namespace"));
    for n in names {
        if let Err(e) = api.delete(n, &DeleteParams::background()).await {
            if !matches!(&e, kube::Error::Api(s) if s.code == 404) {
                eprintln!("warning: cannot delete namespace {n}: {e}; delete it by hand");
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in names {
        while Instant::now() < deadline && matches!(api.get_opt(n).await, Ok(Some(_))) {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// How many ConfigMaps a namespace holds: the check that an apply did its job.
pub async fn count_configmaps(client: &Client, ns: &str) -> Result<usize> {
    Ok(configmaps(client, ns)
        .list(&ListParams::default())
        .await
        .with_context(|| format!("cannot list ConfigMaps in {ns}"))?
        .items
        .len())
}

/// The ceiling: the same apply patches sent by the thinnest client there is, `concurrency` in
/// flight at once as ferry sends them, with no discovery, inventory or reads. What the API
/// server (sharing the machine's cores) can take; ferry's first apply is measured against it.
pub async fn ceiling(
    client: &Client,
    ns: &str,
    objects: &[Value],
    concurrency: usize,
) -> Result<Duration> {
    let api = configmaps(client, ns);
    let params = PatchParams::apply("ferry-bench-ceiling");
    let start = Instant::now();
    let results: Vec<Result<(), kube::Error>> = futures::stream::iter(objects.iter().map(|o| {
        let api = &api;
        let params = &params;
        async move {
            let mut body = o.clone();
            body["metadata"]["namespace"] = ns.into();
            let name = body["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            api.patch(&name, params, &Patch::Apply(&body))
                .await
                .map(|_| ())
        }
    }))
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    let elapsed = start.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        anyhow::bail!("the ceiling client's apply failed for {failed} objects, e.g.: {e}");
    }
    Ok(elapsed)
}
