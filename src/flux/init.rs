//! `ferry init --from-flux`: a `ferry.yaml` equivalent to a Flux repository, for teams that
//! move over. Each cluster becomes an environment; each Kustomization whose spec has a
//! ferry.yaml equivalent a `kustomize:` (or plain `path:`) app, and each HelmRelease a `helm:`
//! app (chart, pinned version, release name and namespace, merged values, CRDs). What has no
//! equivalent (substitution, Flux-side rewrites, values from Secrets, post-renderers, apply
//! settings, the cluster roots' own objects) is listed, never silently dropped.

use super::Cluster;
use crate::config::ChartRef;
use crate::source::Tree;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Kustomization fields ferry.yaml cannot express.
const NOT_CARRIED: [&str; 8] = [
    "postBuild",
    "targetNamespace",
    "namePrefix",
    "nameSuffix",
    "patches",
    "images",
    "components",
    "commonMetadata",
];

/// The file's text and what could not be carried over.
pub struct Converted {
    pub yaml: String,
    pub notes: Vec<String>,
    /// How many apps it defines (none: nothing could be carried over).
    pub apps: usize,
}

/// One app as it is for one cluster.
struct Candidate {
    name: String,
    cluster: String,
    app: Value,
}

fn has_kustomization(tree: &dyn Tree, dir: &str) -> bool {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|f| tree.read(&format!("{dir}/{f}")).is_ok())
}

fn kustomization_app(tree: &dyn Tree, c: &Cluster, u: &super::Unit) -> Result<Value, String> {
    // ferry.yaml apps read files of this repository; an artifact's content is not one.
    let source = &u.spec["sourceRef"];
    if source["kind"] == "OCIRepository" {
        let ns = source["namespace"].as_str().unwrap_or(&u.namespace);
        let artifact = u.path.rsplit_once("//").map_or("", |(a, _)| a);
        return Err(format!(
            "spec.sourceRef OCIRepository {ns}/{}: its content is an OCI artifact ({artifact}), and ferry.yaml apps build only files of this repository; keep building this Kustomization with `ferry build --flux`, or move its manifests into this repository and add a `kustomize:` app for them",
            source["name"].as_str().unwrap_or_default()
        ));
    }
    let used: Vec<&str> = NOT_CARRIED
        .iter()
        .copied()
        .filter(|f| match &u.spec[*f] {
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::String(s) => !s.is_empty(),
            _ => true,
        })
        .collect();
    if !used.is_empty() {
        return Err(format!(
            "spec.{} has no ferry.yaml equivalent",
            used.join(", spec.")
        ));
    }
    if has_kustomization(tree, &u.path) {
        return Ok(json!({"kustomize": u.path}));
    }
    let files = tree.files_under(&u.path).map_err(|e| e.to_string())?;
    let nested = files.iter().any(|f| {
        let dir = f.rsplit_once('/').map_or("", |(d, _)| d);
        dir != u.path && has_kustomization(tree, dir)
    });
    if nested {
        return Err(format!(
            "{} has no kustomization and holds directories that have one, which Flux builds with kustomize and a ferry.yaml `path:` app would read as plain files (cluster {})",
            u.path, c.name
        ));
    }
    Ok(json!({"path": u.path}))
}

fn helm_app(h: &super::HelmFound, lock: &crate::vendor::Lock) -> Result<Value, String> {
    let u = &h.unit;
    if u.secret_values.is_some() {
        return Err("spec.valuesFrom reads a Secret: keep those values in a SOPS-encrypted values file of the app".into());
    }
    let post = &u.post_render;
    if post["postRenderers"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
        || post["commonMetadata"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
    {
        return Err(
            "spec.postRenderers / spec.commonMetadata have no ferry.yaml equivalent".into(),
        );
    }
    let chart = super::charts::pinned(&u.chart, u.chart_filter.as_deref(), lock)?;
    let mut helm = Map::new();
    match &chart {
        ChartRef::Local { path } => {
            helm.insert("chart".into(), json!(path));
        }
        ChartRef::Oci { url, version } => {
            helm.insert("chart".into(), json!(url));
            helm.insert("version".into(), json!(version));
        }
        ChartRef::Repo {
            repo,
            name,
            version,
        } => {
            helm.insert("chart".into(), json!(name));
            helm.insert("repo".into(), json!(repo));
            helm.insert("version".into(), json!(version));
        }
    }
    helm.insert("releaseName".into(), json!(u.release_name));
    if !u.values.is_empty() {
        helm.insert("set".into(), Value::Object(u.values.clone()));
    }
    if !u.include_crds {
        helm.insert("includeCRDs".into(), json!(false));
    }
    Ok(json!({"namespace": u.release_namespace, "helm": helm}))
}

/// The ferry.yaml of `clusters` (each with its age recipients).
pub fn convert(
    tree: &dyn Tree,
    clusters: &[(Cluster, Vec<String>)],
    lock: &crate::vendor::Lock,
) -> Converted {
    let mut notes = Vec::new();
    let mut candidates = Vec::new();
    for (c, _) in clusters {
        for u in &c.discovered.units {
            if u.name.is_empty() || u.app == "root" {
                if !u.text.trim().is_empty() {
                    notes.push(format!("{}: the cluster root {} holds objects of its own (besides Flux's): not carried over; add a `path:` app for those you want", c.name, c.root));
                }
                continue;
            }
            let object = format!(
                "{}: Kustomization {}/{} ({})",
                c.name, u.namespace, u.name, u.file
            );
            if let Some(a) = &u.apply {
                if !a.prune || a.wait || !a.health_checks.is_empty() {
                    notes.push(format!("{object}: prune/wait/healthChecks are `ferry apply` flags (--prune, --wait) with ferry.yaml"));
                }
            }
            match kustomization_app(tree, c, u) {
                Ok(app) => candidates.push(Candidate {
                    name: u.name.clone(),
                    cluster: c.name.clone(),
                    app,
                }),
                Err(m) => notes.push(format!("{object}: not carried over: {m}")),
            }
        }
        for h in &c.discovered.helm {
            let object = format!(
                "{}: HelmRelease {}/{} ({})",
                c.name, h.unit.namespace, h.unit.name, h.file
            );
            match helm_app(h, lock) {
                Ok(app) => candidates.push(Candidate {
                    name: h.unit.name.clone(),
                    cluster: c.name.clone(),
                    app,
                }),
                Err(m) => notes.push(format!("{object}: not carried over: {m}")),
            }
        }
    }
    if clusters.iter().any(|(c, _)| !c.discovered.helm.is_empty()) {
        notes.push("HelmReleases: the labels helm-controller adds (helm.toolkit.fluxcd.io/name, /namespace) are not written by ferry.yaml helm apps".into());
    }
    let all: Vec<String> = clusters.iter().map(|(c, _)| c.name.clone()).collect();
    let apps = group(candidates, &all);
    let count = apps.len();
    let envs: Map<String, Value> = clusters
        .iter()
        .map(|(c, r)| {
            let mut e = Map::new();
            if !r.is_empty() {
                e.insert("recipients".into(), json!(r));
            }
            (c.name.clone(), Value::Object(e))
        })
        .collect();
    let doc = json!({
        "apiVersion": crate::config::API_VERSION,
        "kind": crate::config::KIND,
        "environments": envs,
        "apps": apps,
    });
    let mut yaml = String::from("# Written by `ferry init --from-flux` from the Flux repository's Kustomizations and HelmReleases.\n");
    for n in &notes {
        yaml.push_str(&format!("# not carried over: {}\n", n.replace('\n', " ")));
    }
    yaml.push_str(&serde_yaml_ng::to_string(&doc).unwrap_or_default());
    Converted {
        yaml,
        notes,
        apps: count,
    }
}

/// One app per name when every cluster that has it has it alike, else one per cluster
/// (`NAME-CLUSTER`); `environments` only when not every cluster has it.
fn group(candidates: Vec<Candidate>, all: &[String]) -> Map<String, Value> {
    let mut by_name: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for c in candidates {
        by_name.entry(c.name.clone()).or_default().push(c);
    }
    let mut apps = Map::new();
    let with_envs = |mut app: Value, envs: Vec<String>| {
        if envs.len() != all.len() {
            app["environments"] = json!(envs);
        }
        app
    };
    for (name, list) in by_name {
        let same = list.windows(2).all(|w| w[0].app == w[1].app);
        if same {
            let envs = list.iter().map(|c| c.cluster.clone()).collect();
            apps.insert(name, with_envs(list[0].app.clone(), envs));
        } else {
            for c in list {
                apps.insert(
                    format!("{name}-{}", c.cluster),
                    with_envs(c.app, vec![c.cluster]),
                );
            }
        }
    }
    apps
}
