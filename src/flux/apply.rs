//! What a Kustomization tells kustomize-controller's apply beyond its objects, carried to
//! `ferry apply` through the build's index: `prune` (off: the objects are written with Flux's
//! own `kustomize.toolkit.fluxcd.io/prune: disabled`, which `ferry apply` honours, so they
//! never leave the cluster with the build), `wait` and `healthChecks` (what to wait for
//! after applying) and `timeout` (how long).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The annotation that keeps an object out of pruning (Flux's, honoured by `ferry apply`).
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";

/// One Kustomization's apply settings, recorded per app in `index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxApply {
    /// `namespace/name` of the Kustomization.
    pub kustomization: String,
    pub prune: bool,
    /// Wait for every object of the Kustomization to be healthy.
    pub wait: bool,
    /// `spec.timeout`, else `spec.interval` (Flux's default), as Go writes durations.
    pub timeout: String,
    /// Objects to wait for; a HelmRelease stands for the objects ferry rendered for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default)]
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

impl FluxApply {
    /// From a Kustomization object (`namespace`, `name` already known).
    pub fn of(namespace: &str, name: &str, spec: &Value) -> FluxApply {
        let health_checks = spec["healthChecks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| {
                        Some(HealthCheck {
                            api_version: h["apiVersion"].as_str().unwrap_or_default().into(),
                            kind: h["kind"].as_str()?.to_string(),
                            name: h["name"].as_str()?.to_string(),
                            namespace: h["namespace"].as_str().unwrap_or(namespace).to_string(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        FluxApply {
            kustomization: format!("{namespace}/{name}"),
            prune: spec["prune"].as_bool().unwrap_or(false),
            wait: spec["wait"].as_bool().unwrap_or(false),
            timeout: spec["timeout"]
                .as_str()
                .or(spec["interval"].as_str())
                .unwrap_or("5m")
                .to_string(),
            health_checks,
        }
    }
}

/// Marks an object to be kept out of pruning, unless it says otherwise itself.
pub fn keep_from_pruning(v: &mut Value) {
    let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let ann = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(a) = ann.as_object_mut() {
        a.entry(PRUNE_ANNOTATION)
            .or_insert_with(|| Value::String("disabled".into()));
    }
}
