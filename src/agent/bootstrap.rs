//! `ferry bootstrap`: the agent's installation as objects, built from the manifests in
//! `deploy/` (compiled in, so the binary needs no checkout), and applied in the order the API
//! server needs: the Sync CRD (until Established), the namespace, then everything else, the
//! Sync last. Idempotent: every object is server-side applied under one field manager, so a
//! second run changes only what differs (a new image, a new key) and reports the rest
//! unchanged.
//!
//! The key Secret is built in memory from files; its values never reach stdout, a log or an
//! error: [`redacted`] is what `--dry-run` prints.

use crate::apply::discovery::Discovery;
use crate::apply::ssa::{self, Outcome, SsaOptions};
use base64::Engine;
use kube::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

pub const FIELD_MANAGER: &str = "ferry-bootstrap";
/// The Secret holding the cosign public key and the cluster's age identity.
pub const KEYS_SECRET: &str = "ferry-keys";
const DEFAULT_NAMESPACE: &str = "ferry-system";

const NAMESPACE: &str = include_str!("../../deploy/namespace.yaml");
const SERVICE_ACCOUNT: &str = include_str!("../../deploy/serviceaccount.yaml");
const RBAC_LEAST: &str = include_str!("../../deploy/rbac.yaml");
const RBAC_CLUSTER_ADMIN: &str = include_str!("../../deploy/rbac-cluster-admin.yaml");
const SYNC_CRD: &str = include_str!("../../deploy/sync-crd.yaml");
const AGENT: &str = include_str!("../../deploy/agent.yaml");

/// Which rights the agent's ServiceAccount gets for what its Syncs apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rbac {
    /// `deploy/rbac.yaml`: the common workload kinds (extend it for others; a forbidden object
    /// is named in the Sync's status).
    Least,
    /// `deploy/rbac-cluster-admin.yaml`: anything, for a platform artifact that manages RBAC,
    /// webhooks and CRDs.
    ClusterAdmin,
    /// None: the rights are granted some other way.
    None,
}

/// What to install.
pub struct Plan {
    pub namespace: String,
    pub image: String,
    pub sync_name: String,
    pub url: String,
    pub interval: String,
    pub timeout: String,
    /// The cosign public key (PEM); `None` installs a Sync with `insecureSkipVerify`.
    pub cosign_public_key: Option<String>,
    /// The cluster's age identity, when the artifact holds sealed Secrets.
    pub age_identity: Option<Zeroizing<String>>,
    pub rbac: Rbac,
    /// Plain-HTTP registry (a registry on loopback).
    pub insecure_registry: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("{0}")]
    Invalid(String),
    #[error("deploy/{file} (compiled into ferry) is not valid YAML: {message}")]
    Manifest { file: &'static str, message: String },
    #[error("{kind} {name}: {message}")]
    Apply {
        kind: String,
        name: String,
        message: String,
    },
    #[error("the API server does not serve {api_version} {kind}{hint}")]
    NotServed {
        api_version: String,
        kind: String,
        hint: String,
    },
    #[error("{0}")]
    Timeout(String),
}

fn parse(file: &'static str, text: &str) -> Result<Vec<Value>, BootstrapError> {
    crate::manifest::parse_documents(text).map_err(|e| BootstrapError::Manifest {
        file,
        message: e.to_string(),
    })
}

/// A DNS-1123 label, as names of namespaces and Syncs must be.
fn check_label(what: &str, value: &str) -> Result<(), BootstrapError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(BootstrapError::Invalid(format!(
            "{what} `{value}` is not a valid name: lowercase letters, digits and '-', at most 63, \
             starting and ending with a letter or digit"
        )))
    }
}

/// Moves an object of `deploy/` into `namespace`: its own namespace, RoleBinding subjects,
/// and the agent's `--namespace=` argument.
fn relocate(obj: &mut Value, namespace: &str) {
    if obj["metadata"].get("namespace").is_some() {
        obj["metadata"]["namespace"] = json!(namespace);
    }
    if obj["kind"] == "Namespace" {
        obj["metadata"]["name"] = json!(namespace);
    }
    if let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) {
        for s in subjects {
            if s["kind"] == "ServiceAccount" {
                s["namespace"] = json!(namespace);
            }
        }
    }
    // Cluster-scoped bindings of two installs must not overwrite each other.
    if obj["kind"] == "ClusterRoleBinding" && namespace != DEFAULT_NAMESPACE {
        if let Some(name) = obj["metadata"]["name"].as_str() {
            obj["metadata"]["name"] = json!(format!("{name}-{namespace}"));
        }
    }
}

fn set_image(obj: &mut Value, image: &str, namespace: &str) {
    let Some(containers) = obj
        .pointer_mut("/spec/template/spec/containers")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for c in containers {
        c["image"] = json!(image);
        if let Some(args) = c.get_mut("args").and_then(Value::as_array_mut) {
            for a in args {
                if a.as_str().is_some_and(|s| s.starts_with("--namespace=")) {
                    *a = json!(format!("--namespace={namespace}"));
                }
            }
        }
    }
}

/// The objects to apply, in order. The key Secret is last but one, the Sync last.
///
/// # Errors
/// An invalid name, image or URL in `plan`.
pub fn objects(plan: &Plan) -> Result<Vec<Value>, BootstrapError> {
    check_label("--namespace", &plan.namespace)?;
    check_label("--sync", &plan.sync_name)?;
    if plan.image.trim().is_empty() || plan.image.contains(char::is_whitespace) {
        return Err(BootstrapError::Invalid(format!(
            "--image `{}` is not an image reference (e.g. ghcr.io/you/ferry:0.1.0)",
            plan.image
        )));
    }
    if !plan.url.starts_with("oci://") {
        return Err(BootstrapError::Invalid(format!(
            "--url `{}` must be an oci:// artifact reference, as `ferry push` prints it",
            plan.url
        )));
    }
    for (flag, d) in [("--interval", &plan.interval), ("--timeout", &plan.timeout)] {
        super::spec::parse_duration(d)
            .map_err(|e| BootstrapError::Invalid(format!("{flag} `{d}`: {e}")))?;
    }
    let mut out = parse("sync-crd.yaml", SYNC_CRD)?;
    out.extend(parse("namespace.yaml", NAMESPACE)?);
    out.extend(parse("serviceaccount.yaml", SERVICE_ACCOUNT)?);
    match plan.rbac {
        Rbac::Least => out.extend(parse("rbac.yaml", RBAC_LEAST)?),
        Rbac::ClusterAdmin => {
            // The inventory's own Role (parents and their locks) stays: cluster-admin covers
            // it, but deleting the binding later must not take the agent's basics with it.
            out.extend(
                parse("rbac.yaml", RBAC_LEAST)?
                    .into_iter()
                    .filter(|o| o["metadata"]["name"] == "ferry-inventory"),
            );
            out.extend(parse("rbac-cluster-admin.yaml", RBAC_CLUSTER_ADMIN)?);
        }
        Rbac::None => {}
    }
    out.extend(parse("agent.yaml", AGENT)?);
    for o in &mut out {
        relocate(o, &plan.namespace);
        if o["kind"] == "Deployment" {
            set_image(o, &plan.image, &plan.namespace);
        }
    }
    out.push(keys_secret(plan));
    out.push(sync(plan));
    Ok(out)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn keys_secret(plan: &Plan) -> Value {
    let mut data = serde_json::Map::new();
    if let Some(k) = &plan.cosign_public_key {
        data.insert("cosign.pub".into(), json!(b64(k.as_bytes())));
    }
    if let Some(id) = &plan.age_identity {
        data.insert("age.agekey".into(), json!(b64(id.as_bytes())));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": KEYS_SECRET,
            "namespace": plan.namespace,
            "labels": {"app.kubernetes.io/name": "ferry"},
        },
        "type": "Opaque",
        "data": data,
    })
}

fn sync(plan: &Plan) -> Value {
    let mut spec = json!({
        "url": plan.url,
        "interval": plan.interval,
        "timeout": plan.timeout,
        "prune": true,
        "wait": true,
    });
    if plan.cosign_public_key.is_some() {
        spec["verify"] = json!({"secretRef": {"name": KEYS_SECRET, "key": "cosign.pub"}});
    } else {
        spec["verify"] = json!({"insecureSkipVerify": true});
    }
    if plan.age_identity.is_some() {
        spec["decryption"] = json!({"secretRef": {"name": KEYS_SECRET, "key": "age.agekey"}});
    }
    if plan.insecure_registry {
        spec["insecure"] = json!(true);
    }
    json!({
        "apiVersion": format!("{}/{}", super::spec::GROUP, super::spec::VERSION),
        "kind": super::spec::KIND,
        "metadata": {
            "name": plan.sync_name,
            "namespace": plan.namespace,
            "labels": {"app.kubernetes.io/name": "ferry"},
        },
        "spec": spec,
    })
}

/// The object as `--dry-run` and messages may show it: a Secret's values replaced by their
/// sizes.
pub fn redacted(obj: &Value) -> Value {
    let mut o = obj.clone();
    if o["kind"] == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(m) = o.get_mut(field).and_then(Value::as_object_mut) {
                for v in m.values_mut() {
                    let n = v.as_str().map_or(0, str::len);
                    *v = json!(format!("<redacted, {n} bytes>"));
                }
            }
        }
    }
    o
}

/// `Kind name` (`Kind namespace/name`), for messages.
pub fn describe(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or("?");
    let name = obj["metadata"]["name"].as_str().unwrap_or("?");
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// What happened to one object.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub object: String,
    pub outcome: Outcome,
}

/// Applies `objects` in order, waiting for the CRD to be Established before the first Sync.
/// `progress` hears of each object as it is done.
///
/// # Errors
/// The first object the server refused (later ones are not applied: each needs the ones
/// before it).
pub async fn apply(
    client: &Client,
    objects: &[Value],
    mut progress: impl FnMut(&Applied),
) -> Result<Vec<Applied>, BootstrapError> {
    let discovery = Discovery::new(client.clone());
    let opts = SsaOptions {
        field_manager: FIELD_MANAGER.into(),
        // bootstrap owns these objects; a hand edit of them is what an upgrade replaces.
        force_conflicts: true,
        dry_run: false,
    };
    let mut done = Vec::new();
    for obj in objects {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        if kind == super::spec::KIND {
            // The CRD was applied just before: discovery must see the new group.
            discovery.forget_group(super::spec::GROUP);
        }
        let resolved = resolve(&discovery, api_version, kind).await?;
        let (outcome, _) = ssa::apply(client, &resolved, obj, &opts)
            .await
            .map_err(|e| BootstrapError::Apply {
                kind: kind.into(),
                name: describe(obj),
                message: e.to_string(),
            })?;
        let a = Applied {
            object: describe(obj),
            outcome,
        };
        progress(&a);
        done.push(a);
        if kind == "CustomResourceDefinition" {
            wait_established(client, &discovery, obj).await?;
        }
    }
    Ok(done)
}

async fn resolve(
    discovery: &Discovery,
    api_version: &str,
    kind: &str,
) -> Result<crate::apply::discovery::Resolved, BootstrapError> {
    // A CRD just created takes a moment to be served.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found =
            discovery
                .resolve(api_version, kind)
                .await
                .map_err(|e| BootstrapError::Apply {
                    kind: kind.into(),
                    name: kind.into(),
                    message: e.to_string(),
                })?;
        if let Some(r) = found {
            return Ok(r);
        }
        if Instant::now() >= deadline {
            return Err(BootstrapError::NotServed {
                api_version: api_version.into(),
                kind: kind.into(),
                hint: if kind == super::spec::KIND {
                    " 30 s after its CustomResourceDefinition was applied".into()
                } else {
                    String::new()
                },
            });
        }
        discovery.forget_group(api_version.split_once('/').map_or("", |(g, _)| g));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn wait_established(
    client: &Client,
    discovery: &Discovery,
    crd: &Value,
) -> Result<(), BootstrapError> {
    let name = crd["metadata"]["name"].as_str().unwrap_or_default();
    let resolved = resolve(
        discovery,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let live = ssa::get(client, &resolved, None, name).await.ok().flatten();
        let established = live.as_ref().is_some_and(|l| {
            l["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
            })
        });
        if established {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(BootstrapError::Timeout(format!(
                "CustomResourceDefinition {name} was not Established within 60 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            namespace: "ferry-system".into(),
            image: "ghcr.io/acme/ferry:1.2.3".into(),
            sync_name: "prod".into(),
            url: "oci://registry.local/platform/prod:latest".into(),
            interval: "5m".into(),
            timeout: "5m".into(),
            cosign_public_key: Some(
                "-----BEGIN PUBLIC KEY-----\nMFk\n-----END PUBLIC KEY-----\n".into(),
            ),
            age_identity: Some(Zeroizing::new("AGE-SECRET-KEY-1QQQ".into())),
            rbac: Rbac::Least,
            insecure_registry: false,
        }
    }

    #[test]
    fn objects_come_in_the_order_the_server_needs() {
        let objs = objects(&plan()).expect("objects");
        let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds[0], "CustomResourceDefinition");
        assert_eq!(kinds[1], "Namespace");
        assert_eq!(kinds[kinds.len() - 2], "Secret");
        assert_eq!(kinds[kinds.len() - 1], "Sync");
        let deploy = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
        let c = &deploy["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "ghcr.io/acme/ferry:1.2.3");
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert!(c["readinessProbe"].is_object() && c["resources"]["requests"].is_object());
        let sync = objs.last().unwrap();
        assert_eq!(sync["spec"]["verify"]["secretRef"]["key"], "cosign.pub");
        assert_eq!(sync["spec"]["decryption"]["secretRef"]["key"], "age.agekey");
    }

    #[test]
    fn another_namespace_moves_every_object_and_binding() {
        let p = Plan {
            namespace: "gitops".into(),
            rbac: Rbac::ClusterAdmin,
            ..plan()
        };
        let objs = objects(&p).expect("objects");
        for o in &objs {
            if let Some(ns) = o["metadata"]["namespace"].as_str() {
                assert_eq!(ns, "gitops", "{}", describe(o));
            }
            for s in o["subjects"].as_array().into_iter().flatten() {
                assert_eq!(s["namespace"], "gitops", "{}", describe(o));
            }
        }
        assert!(objs.iter().any(|o| o["kind"] == "ClusterRoleBinding"
            && o["metadata"]["name"] == "ferry-cluster-admin-gitops"));
        let deploy = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
        let args = deploy["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
        assert!(args.contains("--namespace=gitops"), "{args}");
    }

    #[test]
    fn the_key_secret_is_redacted_when_shown() {
        let objs = objects(&plan()).expect("objects");
        let secret = objs.iter().find(|o| o["kind"] == "Secret").unwrap();
        let shown = serde_json::to_string(&redacted(secret)).unwrap();
        assert!(!shown.contains(&b64(b"AGE-SECRET-KEY-1QQQ")), "{shown}");
        assert!(!shown.contains("AGE-SECRET-KEY"), "{shown}");
        assert!(shown.contains("<redacted, "), "{shown}");
    }

    #[test]
    fn bad_flags_are_named() {
        for (p, flag) in [
            (
                Plan {
                    namespace: "Ferry".into(),
                    ..plan()
                },
                "--namespace",
            ),
            (
                Plan {
                    sync_name: "-x".into(),
                    ..plan()
                },
                "--sync",
            ),
            (
                Plan {
                    image: " ".into(),
                    ..plan()
                },
                "--image",
            ),
            (
                Plan {
                    url: "https://x".into(),
                    ..plan()
                },
                "--url",
            ),
            (
                Plan {
                    interval: "soon".into(),
                    ..plan()
                },
                "--interval",
            ),
        ] {
            let err = objects(&p).expect_err(flag).to_string();
            assert!(err.contains(flag), "{err}");
        }
    }
}
