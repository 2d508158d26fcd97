//! The shape of `ferry.yaml`, and the checks that serde cannot express.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

pub const API_VERSION: &str = "ferry.dev/v1alpha1";
pub const KIND: &str = "Pipeline";

fn default_kube_version() -> String {
    "1.31.0".to_string()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pipeline {
    pub api_version: String,
    pub kind: String,
    /// What charts see as `.Capabilities.KubeVersion`.
    #[serde(default = "default_kube_version")]
    pub kube_version: String,
    /// Extra `.Capabilities.APIVersions` for every helm app.
    #[serde(default)]
    pub api_versions: Vec<String>,
    /// Kinds (`group/Kind`, or `Kind` for the core group) to treat as cluster-scoped when no
    /// CRD in the render says so.
    #[serde(default)]
    pub cluster_scoped: Vec<String>,
    pub environments: BTreeMap<String, Environment>,
    pub apps: BTreeMap<String, App>,
    /// How helm and kustomize apps render unless an app says otherwise [default: auto].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<RendererChoice>,
    /// Objects to seal besides every `v1/Secret` (which always is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seal: Vec<SealRule>,
    /// The cosign keys of every environment that names none of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<Signing>,
    /// Notification providers and alerts (see `crate::notify::NotifyConfig`), read by
    /// `ferry apply --notify-config ferry.yaml` and the agent; the build does not use them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<serde_yaml_ng::Value>,
    /// Image policies for `ferry images`, keyed by policy name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, super::images::ImagePolicySpec>,
    /// Teams that own namespaces and apply their apps with only their own rights.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, super::tenants::Tenant>,
}

/// The cosign key pair that signs what `ferry push` sends and verifies what `pull`, `verify`,
/// `diff --against pushed` and `apply` fetch. Paths are relative to the pipeline root (or
/// absolute: CI often mounts keys outside the checkout).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signing {
    /// The private key (cosign's encrypted PEM; the password comes from COSIGN_PASSWORD).
    #[serde(default)]
    pub key: Option<String>,
    /// The public key that must have signed an artifact before it is used.
    #[serde(default)]
    pub public_key: Option<String>,
}

/// Which rendered objects are sealed to the environment's recipients, and which of their keys
/// are encrypted.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealRule {
    /// The object's kind (`ConfigMap`).
    pub kind: String,
    /// The API group (`""` for the core group); any group when absent.
    #[serde(default)]
    pub group: Option<String>,
    /// A regex the object's name must match; every name when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Keys whose values are encrypted [default: `^(data|stringData)$`].
    #[serde(default)]
    pub encrypted_regex: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Environment {
    /// age public keys the cluster holds; rendered secrets are sealed to them.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// OCI repository the environment's artifact is pushed to.
    #[serde(default)]
    pub artifact: Option<String>,
    /// Overrides the pipeline's `kubeVersion` for this environment.
    #[serde(default)]
    pub kube_version: Option<String>,
    /// Added to the pipeline's `apiVersions` for this environment.
    #[serde(default)]
    pub api_versions: Vec<String>,
    /// This environment's cosign keys; each one set replaces the top-level `signing:` one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<Signing>,
}

/// How an app renders: exactly one of `helm`, `kustomize` or `path`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct App {
    /// Set on namespaced objects that have none; passed to helm as `--namespace`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Environments this app is part of; default: all.
    #[serde(default)]
    pub environments: Option<Vec<String>>,
    #[serde(default)]
    pub helm: Option<HelmApp>,
    /// A kustomization directory (`${env}` is substituted).
    #[serde(default)]
    pub kustomize: Option<KustomizeApp>,
    /// A directory of plain YAML manifests, read recursively.
    #[serde(default)]
    pub path: Option<PlainApp>,
    /// Per-environment changes: keyed by environment name.
    #[serde(default)]
    pub overrides: BTreeMap<String, AppOverride>,
    /// `native`, `binary` or `auto` for a helm or kustomize app (overrides the pipeline's
    /// `renderer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<RendererChoice>,
}

pub type KustomizeApp = String;
pub type PlainApp = String;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmApp {
    /// A path in the repository, `oci://host/repo/chart`, or a chart name with `repo:`.
    pub chart: String,
    /// Required for repository and OCI charts.
    #[serde(default)]
    pub version: Option<String>,
    /// A Helm repository URL (`https://...`) the chart comes from.
    #[serde(default)]
    pub repo: Option<String>,
    /// Default: the app's name.
    #[serde(default)]
    pub release_name: Option<String>,
    /// Values files, in order; later files win.
    #[serde(default)]
    pub values: Vec<String>,
    /// Inline values, applied after every values file.
    #[serde(default)]
    pub set: Map<String, Value>,
    /// Extra `.Capabilities.APIVersions` for this chart.
    #[serde(default)]
    pub api_versions: Vec<String>,
    /// Render the chart's `crds/` directory.
    #[serde(default = "default_true", rename = "includeCRDs")]
    pub include_crds: bool,
    /// `helm template --skip-schema-validation`: the chart's values.schema.json files are not
    /// checked.
    #[serde(default)]
    pub skip_schema_validation: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppOverride {
    #[serde(default)]
    pub namespace: Option<String>,
    /// Values files appended after the app's own.
    #[serde(default)]
    pub values: Vec<String>,
    /// Inline values merged over the app's `set`.
    #[serde(default)]
    pub set: Map<String, Value>,
    /// Chart version for this environment.
    #[serde(default)]
    pub version: Option<String>,
}

/// Where a chart comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ChartRef {
    /// A directory (or `.tgz`) in the repository.
    Local { path: String },
    /// `oci://...` with a version.
    Oci { url: String, version: String },
    /// A chart in a Helm repository.
    Repo {
        repo: String,
        name: String,
        version: String,
    },
}

impl ChartRef {
    /// `oci://reg/repo/chart@1.2.3` or `https://repo#chart@1.2.3`: the key in `ferry.lock`.
    pub fn lock_key(&self) -> Option<String> {
        match self {
            ChartRef::Local { .. } => None,
            ChartRef::Oci { url, version } => Some(format!("{url}@{version}")),
            ChartRef::Repo {
                repo,
                name,
                version,
            } => Some(format!("{}#{name}@{version}", repo.trim_end_matches('/'))),
        }
    }
}

/// How helm and kustomize apps render: `binary` runs `helm template` or `kubectl kustomize`
/// (or `kustomize build`), `native` uses ferry's own byte-identical renderers (no binary
/// needed), and `auto`, the default, renders natively and hands an app to the binary only when
/// it uses a feature the native renderer does not support yet. `--compare` checks the two
/// against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum RendererChoice {
    #[default]
    Auto,
    Binary,
    Native,
}

impl RendererChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            RendererChoice::Auto => "auto",
            RendererChoice::Binary => "binary",
            RendererChoice::Native => "native",
        }
    }
}

pub(super) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A repository-relative path that stays inside the repository.
pub(crate) fn check_repo_path(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("the path is empty".into());
    }
    if p.starts_with('/') {
        return Err(format!(
            "`{p}` is absolute; paths are relative to the repository root"
        ));
    }
    let mut depth = 0i32;
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("`{p}` leaves the repository"));
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

fn check_vars(s: &str) -> Result<(), String> {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`{s}` has an unclosed `${{`"));
        };
        let var = &after[..end];
        if var != "env" {
            return Err(format!(
                "`${{{var}}}` is not a known variable; only `${{env}}` is substituted"
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// Key paths are read from disk when used; here only what is wrong whatever the disk holds.
fn check_signing(
    key: &str,
    s: &Signing,
    err: &dyn Fn(&str, String, Option<&str>) -> ConfigError,
) -> Result<(), ConfigError> {
    for (field, value) in [("key", &s.key), ("publicKey", &s.public_key)] {
        match value.as_deref() {
            Some("") => {
                return Err(err(
                    &format!("{key}.{field}"),
                    "the path is empty".into(),
                    Some("give a file, e.g. `cosign.pub`, or remove the key"),
                ))
            }
            Some(p) if p.contains("${") => {
                return Err(err(
                    &format!("{key}.{field}"),
                    format!("`{p}`: variables are not substituted in key paths"),
                    Some("set `signing:` under the environment instead"),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_kube_version(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let parts: Vec<&str> = v.split('.').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

impl Pipeline {
    pub(crate) fn validate(&self, file: &Path, text: &str) -> Result<(), ConfigError> {
        let err = |key: &str, msg: String, hint: Option<&str>| {
            ConfigError::at(file, text, key, msg, hint.map(str::to_string))
        };
        if self.api_version != API_VERSION {
            return Err(err(
                "apiVersion",
                format!("`{}` is not supported", self.api_version),
                Some(&format!("use `apiVersion: {API_VERSION}`")),
            ));
        }
        if self.kind != KIND {
            return Err(err(
                "kind",
                format!("`{}` is not supported", self.kind),
                Some(&format!("use `kind: {KIND}`")),
            ));
        }
        if !check_kube_version(&self.kube_version) {
            return Err(err(
                "kubeVersion",
                format!("`{}` is not a Kubernetes version", self.kube_version),
                Some("write it as MAJOR.MINOR.PATCH, e.g. \"1.31.0\""),
            ));
        }
        if self.environments.is_empty() {
            return Err(err(
                "environments",
                "no environment is defined".into(),
                Some("add at least one, e.g. `environments: {staging: {}}`"),
            ));
        }
        for (name, env) in &self.environments {
            if !is_dns_label(name) {
                return Err(err(
                    &format!("environments.{name}"),
                    format!("`{name}` is not a valid environment name"),
                    Some("use lower-case letters, digits and `-`"),
                ));
            }
            if let Some(s) = &env.signing {
                check_signing(&format!("environments.{name}.signing"), s, &err)?;
            }
            if let Some(v) = &env.kube_version {
                if !check_kube_version(v) {
                    return Err(err(
                        &format!("environments.{name}.kubeVersion"),
                        format!("`{v}` is not a Kubernetes version"),
                        Some("write it as MAJOR.MINOR.PATCH"),
                    ));
                }
            }
        }
        if let Some(s) = &self.signing {
            check_signing("signing", s, &err)?;
        }
        for (i, k) in self.cluster_scoped.iter().enumerate() {
            if k.is_empty() || k.matches('/').count() > 1 {
                return Err(err(
                    &format!("clusterScoped[{i}]"),
                    format!("`{k}` is not `group/Kind` or `Kind`"),
                    None,
                ));
            }
        }
        if self.apps.is_empty() {
            return Err(err(
                "apps",
                "no app is defined".into(),
                Some("add an app with `helm:`, `kustomize:` or `path:`"),
            ));
        }
        for (name, app) in &self.apps {
            self.validate_app(name, app, &err)?;
        }
        self.validate_tenants(&err)?;
        Ok(())
    }

    fn validate_app(
        &self,
        name: &str,
        app: &App,
        err: &dyn Fn(&str, String, Option<&str>) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let key = format!("apps.{name}");
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            || name.starts_with('.')
        {
            return Err(err(
                &key,
                format!("`{name}` is not a valid app name"),
                Some("use letters, digits, `-`, `_` and `.`"),
            ));
        }
        let kinds = [
            app.helm.is_some(),
            app.kustomize.is_some(),
            app.path.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if kinds != 1 {
            return Err(err(
                &key,
                format!(
                    "an app needs exactly one of `helm`, `kustomize` or `path` (found {kinds})"
                ),
                None,
            ));
        }
        let known = |e: &str| self.environments.contains_key(e);
        let env_list = || {
            self.environments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(envs) = &app.environments {
            for (i, e) in envs.iter().enumerate() {
                if !known(e) {
                    return Err(err(
                        &format!("{key}.environments[{i}]"),
                        format!("unknown environment `{e}`"),
                        Some(&format!("known environments: {}", env_list())),
                    ));
                }
            }
        }
        for e in app.overrides.keys() {
            if !known(e) {
                return Err(err(
                    &format!("{key}.overrides.{e}"),
                    format!("unknown environment `{e}`"),
                    Some(&format!("known environments: {}", env_list())),
                ));
            }
        }
        if let Some(ns) = &app.namespace {
            if !is_dns_label(ns) {
                return Err(err(
                    &format!("{key}.namespace"),
                    format!("`{ns}` is not a valid namespace name"),
                    None,
                ));
            }
        }
        let check_path = |k: String, p: &str| -> Result<(), ConfigError> {
            check_vars(p).map_err(|m| err(&k, m, None))?;
            check_repo_path(p).map_err(|m| err(&k, m, None))
        };
        if let Some(p) = &app.kustomize {
            check_path(format!("{key}.kustomize"), p)?;
        }
        if app.renderer.is_some() && app.kustomize.is_none() && app.helm.is_none() {
            return Err(err(
                &format!("{key}.renderer"),
                "`renderer` only applies to kustomize and helm apps".into(),
                Some("remove it; plain apps have one renderer"),
            ));
        }
        if let Some(p) = &app.path {
            check_path(format!("{key}.path"), p)?;
        }
        if let Some(h) = &app.helm {
            let hk = format!("{key}.helm");
            check_vars(&h.chart).map_err(|m| err(&format!("{hk}.chart"), m, None))?;
            let remote = h.chart.starts_with("oci://") || h.repo.is_some();
            if remote && h.version.is_none() && app.overrides.values().all(|o| o.version.is_none())
            {
                return Err(err(
                    &format!("{hk}.version"),
                    "a chart from a repository or registry needs a pinned `version`".into(),
                    Some("add `version: X.Y.Z`"),
                ));
            }
            if !remote {
                check_repo_path(&h.chart).map_err(|m| err(&format!("{hk}.chart"), m, Some("give a path in the repository, `oci://...`, or a chart name with `repo:`")))?;
            }
            if let Some(r) = &h.repo {
                if !(r.starts_with("https://") || r.starts_with("http://")) {
                    return Err(err(
                        &format!("{hk}.repo"),
                        format!("`{r}` is not an http(s) URL"),
                        Some(
                            "for OCI registries write the chart as `oci://host/path/chart` instead",
                        ),
                    ));
                }
            }
            for (i, v) in h.values.iter().enumerate() {
                check_path(format!("{hk}.values[{i}]"), v)?;
            }
        }
        for (e, o) in &app.overrides {
            for (i, v) in o.values.iter().enumerate() {
                check_path(format!("{key}.overrides.{e}.values[{i}]"), v)?;
            }
            if app.helm.is_none()
                && (!o.values.is_empty() || !o.set.is_empty() || o.version.is_some())
            {
                return Err(err(
                    &format!("{key}.overrides.{e}"),
                    "`values`, `set` and `version` overrides only apply to helm apps".into(),
                    None,
                ));
            }
        }
        Ok(())
    }

    /// The cosign key file for `env` (the environment's own, else the top level's) with the key
    /// path it came from, for messages: the public key when `public`, else the private one.
    pub fn signing_file(&self, env: Option<&str>, public: bool) -> Option<(String, &str)> {
        fn pick(s: &Signing, public: bool) -> Option<&str> {
            if public {
                s.public_key.as_deref()
            } else {
                s.key.as_deref()
            }
        }
        let field = if public { "publicKey" } else { "key" };
        let own = env.and_then(|name| {
            let e = self.environments.get(name)?;
            let p = pick(e.signing.as_ref()?, public)?;
            Some((format!("environments.{name}.signing.{field}"), p))
        });
        own.or_else(|| {
            let p = pick(self.signing.as_ref()?, public)?;
            Some((format!("signing.{field}"), p))
        })
    }

    /// The environments an app is rendered for, in name order.
    pub fn environments_of<'a>(&'a self, app: &'a App) -> impl Iterator<Item = &'a str> + 'a {
        self.environments
            .keys()
            .filter(move |e| {
                app.environments
                    .as_ref()
                    .is_none_or(|l| l.iter().any(|x| x == *e))
            })
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn an_empty_key_path_names_its_line() {
        let text = "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod:\n    signing:\n      publicKey: \"\"\napps: {web: {path: web}}\n";
        let err = crate::config::parse(Path::new("ferry.yaml"), text).expect_err("empty");
        let msg = err.to_string();
        assert!(
            msg.starts_with("ferry.yaml:6: environments.prod.signing.publicKey: the path is empty"),
            "{msg}"
        );
        let typo = text.replace("publicKey", "pubKey");
        let err = crate::config::parse(Path::new("ferry.yaml"), &typo).expect_err("unknown");
        assert!(err.to_string().contains("unknown field `pubKey`"), "{err}");
    }
}
