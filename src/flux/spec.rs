//! The fields of Flux objects ferry reads, taken from rendered objects (JSON values).
//! Unknown fields are ignored, as the API server would keep them for a controller that
//! ignores them; a field of the wrong type is an error naming it.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const KUSTOMIZATION_API: &str = "kustomize.toolkit.fluxcd.io/v1";
pub const GIT_REPOSITORY_GROUP: &str = "source.toolkit.fluxcd.io";
/// Set to `"true"` on a GitRepository that is the repository ferry reads.
pub const THIS_REPOSITORY_ANNOTATION: &str = "ferry.dev/this-repository";
/// Flux's opt-out from variable substitution, as a label or an annotation.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Kustomization {
    #[serde(default)]
    pub path: Option<String>,
    pub source_ref: SourceRef,
    #[serde(default)]
    pub target_namespace: Option<String>,
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default)]
    pub name_suffix: Option<String>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub ignore_missing_components: bool,
    #[serde(default)]
    pub common_metadata: Option<CommonMetadata>,
    #[serde(default)]
    pub post_build: Option<PostBuild>,
    #[serde(default)]
    pub depends_on: Vec<DependsOn>,
    #[serde(default)]
    pub decryption: Option<Value>,
    #[serde(default)]
    pub suspend: bool,
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub wait: bool,
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Patch {
    pub patch: String,
    #[serde(default)]
    pub target: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub name: String,
    #[serde(default)]
    pub new_name: Option<String>,
    #[serde(default)]
    pub new_tag: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct CommonMetadata {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    #[serde(default)]
    pub substitute: BTreeMap<String, String>,
    #[serde(default)]
    pub substitute_from: Vec<SubstituteRef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubstituteRef {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DependsOn {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `namespace/name` of an object, its namespace defaulted to `default` as the API server does.
pub fn key_of(v: &Value) -> (String, String) {
    let ns = v["metadata"]["namespace"].as_str().unwrap_or("default");
    let name = v["metadata"]["name"].as_str().unwrap_or_default();
    (ns.to_string(), name.to_string())
}

pub fn is_kustomization(v: &Value) -> bool {
    v["apiVersion"].as_str() == Some(KUSTOMIZATION_API) && v["kind"] == "Kustomization"
}

/// Any version of a Flux source kind (`GitRepository`, `OCIRepository`, `Bucket`).
pub fn source_kind(v: &Value) -> Option<&str> {
    let group = v["apiVersion"].as_str()?.split('/').next()?;
    let kind = v["kind"].as_str()?;
    (group == GIT_REPOSITORY_GROUP
        && matches!(
            kind,
            "GitRepository" | "OCIRepository" | "Bucket" | "HelmRepository" | "HelmChart"
        ))
    .then_some(kind)
}

/// A Kustomization's `spec`, with serde's words on what is wrong.
pub fn kustomization(v: &Value) -> Result<Kustomization, String> {
    let spec = v.get("spec").cloned().unwrap_or(Value::Null);
    serde_json::from_value(spec).map_err(|e| format!("spec: {e}"))
}

/// A Git URL reduced to host and path, so that `https://github.com/o/r.git`,
/// `ssh://git@github.com/o/r` and `git@github.com:o/r` compare equal.
pub fn normalize_git_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    let u = u.strip_suffix(".git").unwrap_or(u);
    let rest = match u.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        // scp-like `user@host:path`
        None => u.replacen(':', "/", 1),
    };
    let rest = rest.rsplit_once('@').map_or(rest.as_str(), |(_, r)| r);
    rest.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_compare_by_host_and_path() {
        let a = normalize_git_url("https://github.com/Org/Repo.git");
        assert_eq!(a, normalize_git_url("ssh://git@github.com/org/repo"));
        assert_eq!(a, normalize_git_url("git@github.com:org/repo/"));
        assert_ne!(a, normalize_git_url("https://github.com/org/other"));
    }

    #[test]
    fn spec_errors_name_the_field() {
        let v = serde_json::json!({"spec": {"sourceRef": {"kind": "GitRepository", "name": "x"}, "prune": "yes"}});
        let e = kustomization(&v).unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
    }
}
