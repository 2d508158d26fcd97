//! One app as it renders in one environment: `${env}` substituted and overrides applied.

use super::{App, ChartRef, Pipeline, RendererChoice};
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedApp {
    pub env: String,
    pub app: String,
    pub namespace: Option<String>,
    pub kube_version: String,
    pub source: ResolvedSource,
}

// One per (environment, app) pair, moved rarely: boxing the helm variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "renderer", rename_all = "camelCase")]
pub enum ResolvedSource {
    Helm(ResolvedHelm),
    Kustomize {
        path: String,
        /// Not serialized: the renderer's fingerprint already tells the cache which one ran.
        #[serde(skip)]
        renderer: RendererChoice,
    },
    Plain {
        path: String,
    },
    /// A Flux Kustomization, rendered while the repository's Kustomizations were followed.
    Flux(FluxSource),
}

/// A Flux Kustomization of a cluster (see `crate::flux`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluxSource {
    /// `Kustomization`, or `root` for the cluster root.
    pub kind: String,
    /// `namespace/name`; empty for the root.
    pub object: String,
    /// The repository file that declares it.
    pub file: String,
    /// The repository path it builds.
    pub path: String,
    /// A digest of its spec.
    pub spec: String,
    /// A digest of its rendered text: with the spec, what the cache key needs to know.
    pub output: String,
    /// What `ferry apply` honours of it: `prune`, `wait`, `timeout`, `healthChecks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<crate::flux::apply::FluxApply>,
    #[serde(skip)]
    pub rendered: FluxRendered,
}

/// The text and the values decrypted for it; compared by the digest beside it.
#[derive(Clone, Default)]
pub struct FluxRendered(pub std::sync::Arc<(String, crate::secrets::Disclosed)>);

impl FluxRendered {
    pub fn text(&self) -> &str {
        &self.0 .0
    }

    pub fn disclosed(&self) -> &crate::secrets::Disclosed {
        &self.0 .1
    }
}

impl PartialEq for FluxRendered {
    fn eq(&self, _: &Self) -> bool {
        // The digest of the text (`FluxSource::output`) is compared instead.
        true
    }
}

impl std::fmt::Debug for FluxRendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FluxRendered({} bytes)", self.0 .0.len())
    }
}

/// A Flux HelmRelease's values when some come from Secrets (`valuesFrom`): the whole merge,
/// in Flux's order, and the values it disclosed. Never serialized: `set` then holds only what
/// ConfigMaps and `values` give, and such a pair is never cached.
#[derive(Clone, Default)]
pub struct SecretValues(pub std::sync::Arc<(Map<String, Value>, crate::secrets::Disclosed)>);

impl SecretValues {
    pub fn values(&self) -> &Map<String, Value> {
        &self.0 .0
    }

    pub fn disclosed(&self) -> &crate::secrets::Disclosed {
        &self.0 .1
    }
}

impl PartialEq for SecretValues {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretValues({} keys)", self.0 .0.len())
    }
}

impl ResolvedSource {
    pub fn renderer_name(&self) -> &'static str {
        match self {
            ResolvedSource::Helm(_) => "helm",
            ResolvedSource::Kustomize { .. } => "kustomize",
            ResolvedSource::Plain { .. } => "plain",
            ResolvedSource::Flux(_) => "flux",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedHelm {
    pub chart: ChartRef,
    pub release_name: String,
    /// Values files (repository paths), in order.
    pub values: Vec<String>,
    pub set: Map<String, Value>,
    pub api_versions: Vec<String>,
    pub include_crds: bool,
    /// Not serialized: the renderer's fingerprint already tells the cache which one ran.
    #[serde(skip)]
    pub renderer: RendererChoice,
    /// `helm template` switches `ferry render helm` passes on; a build leaves them off.
    #[serde(skip)]
    pub flags: Box<HelmFlags>,
    /// What helm-controller does to a HelmRelease's manifests after helm (`crate::flux`'s
    /// post-render: `postRenderers`, `commonMetadata`, origin labels); part of the cache key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_render: Option<Value>,
    /// Values from Secrets (Flux `valuesFrom`), used instead of `set` when present.
    #[serde(skip)]
    pub secret_values: Option<SecretValues>,
}

/// `helm template` flags `ferry render helm` passes on with helm's meaning (a build leaves
/// them off): `--skip-tests`, `--no-hooks`, `--is-upgrade`, `--show-only`, the `--set`
/// family and `--skip-schema-validation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelmFlags {
    pub skip_tests: bool,
    pub no_hooks: bool,
    pub is_upgrade: bool,
    pub skip_schema_validation: bool,
    /// `--show-only` templates (paths in the chart, globs as Go's `filepath.Match`).
    pub show_only: Vec<String>,
    /// `(flag, argument)`: `--set`, `--set-string`, `--set-file`, `--set-json` or
    /// `--set-literal`, in the order given (helm applies them flag by flag, in that order of
    /// flags, after the values files).
    pub sets: Vec<(String, String)>,
}

/// The order in which helm applies the `--set` family, whatever the order on the command line.
pub const HELM_SET_FLAGS: [&str; 5] = [
    "--set-json",
    "--set",
    "--set-string",
    "--set-file",
    "--set-literal",
];

fn subst(s: &str, env: &str) -> String {
    s.replace("${env}", env)
}

/// Deep-merges `over` into `base`: maps merge key by key, anything else is replaced.
pub(crate) fn merge_maps(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => merge_maps(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn resolve_app(p: &Pipeline, env: &str, name: &str, app: &App) -> ResolvedApp {
    let envcfg = &p.environments[env];
    let ov = app.overrides.get(env);
    let namespace = ov
        .and_then(|o| o.namespace.clone())
        .or_else(|| app.namespace.clone());
    let source = if let Some(h) = &app.helm {
        let version = ov
            .and_then(|o| o.version.clone())
            .or_else(|| h.version.clone())
            .unwrap_or_default();
        let chart = subst(&h.chart, env);
        let chart = if chart.starts_with("oci://") {
            ChartRef::Oci {
                url: chart,
                version,
            }
        } else if let Some(repo) = &h.repo {
            ChartRef::Repo {
                repo: repo.clone(),
                name: chart,
                version,
            }
        } else {
            ChartRef::Local { path: chart }
        };
        let mut values: Vec<String> = h.values.iter().map(|v| subst(v, env)).collect();
        let mut set = h.set.clone();
        if let Some(o) = ov {
            values.extend(o.values.iter().map(|v| subst(v, env)));
            merge_maps(&mut set, &o.set);
        }
        let mut api_versions: Vec<String> = p.api_versions.clone();
        api_versions.extend(envcfg.api_versions.iter().cloned());
        api_versions.extend(h.api_versions.iter().cloned());
        api_versions.sort();
        api_versions.dedup();
        ResolvedSource::Helm(ResolvedHelm {
            chart,
            release_name: h.release_name.clone().unwrap_or_else(|| name.to_string()),
            values,
            set,
            api_versions,
            include_crds: h.include_crds,
            renderer: app.renderer.or(p.renderer).unwrap_or_default(),
            flags: Box::default(),
            post_render: None,
            secret_values: None,
        })
    } else if let Some(k) = &app.kustomize {
        ResolvedSource::Kustomize {
            path: subst(k, env),
            renderer: app.renderer.or(p.renderer).unwrap_or_default(),
        }
    } else {
        ResolvedSource::Plain {
            path: subst(app.path.as_deref().unwrap_or_default(), env),
        }
    };
    ResolvedApp {
        env: env.to_string(),
        app: name.to_string(),
        namespace,
        kube_version: envcfg
            .kube_version
            .clone()
            .unwrap_or_else(|| p.kube_version.clone()),
        source,
    }
}

/// Every (environment, app) pair to render for the given environments, in a stable order.
pub fn resolve(p: &Pipeline, envs: &[String]) -> Vec<ResolvedApp> {
    let mut out = Vec::new();
    for env in envs {
        for (name, app) in &p.apps {
            if p.environments_of(app).any(|e| e == env) {
                out.push(resolve_app(p, env, name, app));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const P: &str = r#"
apiVersion: ferry.dev/v1alpha1
kind: Pipeline
apiVersions: [a/v1]
environments:
  staging: {}
  prod: {kubeVersion: "1.30.0"}
apps:
  web:
    namespace: web
    helm:
      chart: charts/web
      values: [apps/web/values.yaml, "apps/web/values-${env}.yaml"]
      set: {image: {tag: "1"}, replicas: 1}
    overrides:
      prod:
        namespace: web-prod
        set: {image: {pullPolicy: Always}, replicas: 3}
  crds:
    path: infra/crds
    environments: [prod]
  ingress:
    kustomize: apps/ingress/overlays/${env}
"#;

    #[test]
    fn substitutes_env_filters_and_overrides() {
        let p = crate::config::parse(Path::new("ferry.yaml"), P).expect("valid");
        let all = resolve(&p, &["prod".into(), "staging".into()]);
        let names: Vec<_> = all.iter().map(|r| format!("{}/{}", r.env, r.app)).collect();
        assert_eq!(
            names,
            [
                "prod/crds",
                "prod/ingress",
                "prod/web",
                "staging/ingress",
                "staging/web"
            ]
        );
        let prod_web = &all[2];
        assert_eq!(prod_web.namespace.as_deref(), Some("web-prod"));
        assert_eq!(prod_web.kube_version, "1.30.0");
        let ResolvedSource::Helm(h) = &prod_web.source else {
            panic!("helm expected")
        };
        assert_eq!(h.values[1], "apps/web/values-prod.yaml");
        assert_eq!(
            serde_json::Value::Object(h.set.clone()),
            serde_json::json!({"image": {"tag": "1", "pullPolicy": "Always"}, "replicas": 3})
        );
        assert_eq!(h.api_versions, ["a/v1"]);
        assert_eq!(
            all[3].source,
            ResolvedSource::Kustomize {
                path: "apps/ingress/overlays/staging".into(),
                renderer: RendererChoice::Auto,
            }
        );
        assert_eq!(all[4].kube_version, "1.31.0");
    }
}
