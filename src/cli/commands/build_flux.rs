//! `ferry build --flux [ROOT]`: each cluster of a Flux repository followed from its root,
//! then built like a `ferry.yaml` environment (one app per Kustomization).

use super::cache_dir;
use super::inputs::BuildInputs;
use crate::build::{build_pairs, BuildOptions, BuildReport, EnvReport};
use crate::cli::args::{BuildArgs, GlobalArgs, ToolArgs};
use crate::cli::progress::{self, Bar};
use crate::config::{
    ChartRef, FluxRendered, FluxSource, Pipeline, RendererChoice, ResolvedApp, ResolvedHelm,
    ResolvedSource,
};
use crate::flux::{self, Cluster, FluxError, Memo, MemoStats};
use crate::source::Tree;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// The age recipients of a cluster: those `.sops.yaml` gives files under its root, which is
/// where Flux's guide puts the cluster's key.
pub(super) fn recipients(repo: &Path, cluster_root: &str) -> anyhow::Result<Vec<String>> {
    let Some(config) = crate::secrets::config::find(repo) else {
        return Ok(Vec::new());
    };
    let probe = repo.join(cluster_root).join("secret.yaml");
    Ok(crate::secrets::config::rule_for(&config, &probe)?
        .map(|r| {
            r.recipients
                .iter()
                .map(|r| r.as_str().to_string())
                .collect()
        })
        .unwrap_or_default())
}

fn pipeline<'a>(
    repo: &Path,
    clusters: impl Iterator<Item = &'a Cluster>,
) -> anyhow::Result<Pipeline> {
    let mut envs = serde_json::Map::new();
    for c in clusters {
        envs.insert(
            c.name.clone(),
            serde_json::json!({"recipients": recipients(repo, &c.root)?}),
        );
    }
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": crate::config::API_VERSION,
        "kind": crate::config::KIND,
        "environments": envs,
        "apps": {},
    }))?)
}

fn pairs(cluster: Cluster, kube_version: &str) -> Vec<ResolvedApp> {
    let helm = cluster.discovered.helm.into_iter().map(|h| {
        let u = h.unit;
        ResolvedApp {
            env: cluster.name.clone(),
            app: format!("hr.{}.{}", u.namespace, u.name),
            namespace: Some(u.release_namespace),
            kube_version: kube_version.to_string(),
            source: ResolvedSource::Helm(ResolvedHelm {
                chart: u.chart,
                release_name: u.release_name,
                values: Vec::new(),
                set: u.values,
                api_versions: Vec::new(),
                include_crds: u.include_crds,
                skip_schema_validation: false,
                renderer: RendererChoice::Auto,
                flags: Default::default(),
                post_render: Some(u.post_render),
                secret_values: u.secret_values,
            }),
        }
    });
    let helm: Vec<ResolvedApp> = helm.collect();
    cluster
        .discovered
        .units
        .into_iter()
        .map(|u| {
            let output = hex::encode(Sha256::digest(u.text.as_bytes()));
            let object = if u.name.is_empty() {
                String::new()
            } else {
                format!("{}/{}", u.namespace, u.name)
            };
            ResolvedApp {
                env: cluster.name.clone(),
                app: u.app,
                namespace: None,
                kube_version: kube_version.to_string(),
                source: ResolvedSource::Flux(FluxSource {
                    kind: if object.is_empty() {
                        "root"
                    } else {
                        "Kustomization"
                    }
                    .into(),
                    object,
                    file: u.file,
                    path: u.path,
                    spec: u.spec_digest,
                    output,
                    apply: u.apply,
                    rendered: FluxRendered(std::sync::Arc::new((u.text, u.disclosed))),
                }),
            }
        })
        .chain(helm)
        .collect()
}

/// Charts from a HelmRepository or OCIRepository must be vendored: each is pinned to its
/// locked version (ranges), or is one error naming its HelmRelease and file.
fn unvendored(inputs: &BuildInputs, cluster: &mut Cluster) -> Vec<FluxError> {
    let mut errors = Vec::new();
    for h in &mut cluster.discovered.helm {
        if matches!(h.unit.chart, ChartRef::Local { .. }) {
            continue;
        }
        let located = flux::charts::locate(
            &h.unit.chart,
            h.unit.chart_filter.as_deref(),
            &inputs.lock,
            &inputs.charts,
        )
        .and_then(|exact| {
            match &h.unit.chart_verify {
                // Vendoring verified the chart's signature; the lock must say so.
                Some(v) => {
                    let pin = exact.lock_key().and_then(|k| inputs.lock.charts.get(&k));
                    let (digest, by) = pin.map_or(("", &[][..]), |p| (&p.digest, &p.verified_by));
                    crate::vendor::oci_verify::satisfied(v, digest, by).map(|()| exact)
                }
                None => Ok(exact),
            }
        });
        match located {
            Ok(exact) => h.unit.chart = exact,
            Err(message) => errors.push(FluxError {
                cluster: cluster.name.clone(),
                object: format!("HelmRelease {}/{}", h.unit.namespace, h.unit.name),
                file: h.file.clone(),
                message,
            }),
        }
    }
    errors
}

/// What `ferry build --flux` and `ferry diff --from --flux` read from the command line.
pub(super) struct FluxArgs<'a> {
    pub flux_root: &'a str,
    /// Clusters asked for (none: every one).
    pub environments: &'a [String],
    pub strict: bool,
    pub source_urls: &'a [String],
    pub tools: &'a ToolArgs,
    pub no_cache: bool,
}

/// A Flux repository's clusters at one revision, followed and turned into build pairs.
pub(super) struct Resolved {
    pub inputs: BuildInputs,
    /// The clusters without errors, to build.
    pub envs: Vec<String>,
    pub pairs: Vec<ResolvedApp>,
    /// The clusters with errors, each with all of them.
    pub failed: Vec<(String, Vec<FluxError>)>,
}

/// The Kustomization memo of a run: backed by the render cache unless `--no-cache`.
pub(super) fn memo(g: &GlobalArgs, no_cache: bool) -> Arc<Memo> {
    Arc::new(Memo::new(if no_cache { None } else { cache_dir(g) }))
}

/// What `ferry vendor --flux` pinned (the tree's ferry.lock) and the cache it unpacked
/// OCIRepository artifacts into.
pub(super) fn vendored(
    g: &GlobalArgs,
    tree: &dyn Tree,
    repo: &Path,
) -> anyhow::Result<Arc<flux::oci::Vendored>> {
    use crate::vendor::{Lock, LOCK_FILE};
    let lock = match tree.read(LOCK_FILE) {
        Ok(bytes) => Lock::parse(&repo.join(LOCK_FILE), &String::from_utf8_lossy(&bytes))?,
        Err(_) => Lock::default(),
    };
    Ok(Arc::new(flux::oci::Vendored {
        lock,
        cache_dir: cache_dir(g).unwrap_or_else(|| repo.join(".ferry-cache")),
    }))
}

/// Follows every cluster of the repository (those asked for) and resolves its units.
pub(super) fn resolve(
    g: &GlobalArgs,
    a: &FluxArgs<'_>,
    repo: &Path,
    tree: &dyn Tree,
    memo: &Arc<Memo>,
) -> anyhow::Result<Resolved> {
    let flux_root = a.flux_root;
    let mut roots = flux::cluster_roots(tree, flux_root).map_err(anyhow::Error::msg)?;
    if !a.environments.is_empty() {
        if let Some(unknown) = a
            .environments
            .iter()
            .find(|e| !roots.iter().any(|(n, _)| n == *e))
        {
            let known: Vec<&str> = roots.iter().map(|(n, _)| n.as_str()).collect();
            anyhow::bail!(
                "unknown cluster `{unknown}` under {flux_root}\nhint: clusters: {}",
                known.join(", ")
            );
        }
        roots.retain(|(n, _)| a.environments.contains(n));
    }
    let opts = flux::Options {
        strict: a.strict,
        source_urls: a.source_urls.to_vec(),
        memo: Some(memo.clone()),
        vendored: Some(vendored(g, tree, repo)?),
    };
    // Clusters are independent: followed side by side, each level of each in parallel too.
    use rayon::prelude::*;
    let discovered: Vec<(Cluster, Vec<FluxError>)> = roots
        .par_iter()
        .map(|(name, root)| flux::discover_cluster(tree, name, root, &opts))
        .collect();
    let pipeline = pipeline(repo, discovered.iter().map(|(c, _)| c))?;
    let inputs = BuildInputs::with_pipeline(g, pipeline, tree, repo, a.tools, a.no_cache)?;
    // Every error of every cluster is reported; a cluster with any is not written.
    let mut clusters = Vec::new();
    let mut failed: Vec<(String, Vec<FluxError>)> = Vec::new();
    for (mut cluster, mut errors) in discovered {
        errors.extend(unvendored(&inputs, &mut cluster));
        if errors.is_empty() {
            clusters.push(cluster);
        } else {
            failed.push((cluster.name.clone(), errors));
        }
    }
    let envs: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
    let kube_version = inputs.pipeline.kube_version.clone();
    let pairs: Vec<ResolvedApp> = clusters
        .into_iter()
        .flat_map(|c| pairs(c, &kube_version))
        .collect();
    Ok(Resolved {
        inputs,
        envs,
        pairs,
        failed,
    })
}

pub(super) fn run(
    g: &GlobalArgs,
    a: &BuildArgs,
    repo: &Path,
    tree: &dyn Tree,
    flux_root: &str,
) -> anyhow::Result<BuildReport> {
    crate::tempfiles::remove_on_interrupt();
    let memo = memo(g, a.no_cache);
    let args = FluxArgs {
        flux_root,
        environments: &a.environments,
        strict: a.strict_substitution,
        source_urls: &a.source_urls,
        tools: &a.tools,
        no_cache: a.no_cache,
    };
    let r = resolve(g, &args, repo, tree, &memo)?;
    let ctx = r.inputs.context(tree);
    let out_dir = if a.out.is_absolute() {
        a.out.clone()
    } else {
        repo.join(&a.out)
    };
    let opts = BuildOptions {
        environments: r.envs.clone(),
        jobs: a.jobs,
        out_dir: out_dir.clone(),
        // The HelmReleases' helm renders (Kustomizations always render natively).
        renderer: a.renderer.map(Into::into),
        keep_violations: false,
    };
    let bar = Bar::new(progress::wanted(g.quiet), "writing");
    let mut report = build_pairs(&ctx, &opts, &r.envs, r.pairs, &bar)?;
    count_kustomizations(&mut report, &memo.take_stats());
    for (name, errors) in r.failed {
        report.environments.push(EnvReport {
            name: name.clone(),
            apps: 0,
            objects: 0,
            cached: 0,
            rendered: 0,
            rendered_apps: Vec::new(),
            out: out_dir.join(&name),
            written: false,
            up_to_date: false,
            errors: errors.iter().map(ToString::to_string).collect(),
            violations: Vec::new(),
        });
    }
    report.environments.sort_by(|x, y| x.name.cmp(&y.name));
    Ok(report)
}

/// A Kustomization is rendered when it is followed, not when the build writes its text: the
/// report's rendered and cached counts say what the memo did for Kustomizations and what the
/// build's cache did for HelmReleases.
fn count_kustomizations(report: &mut BuildReport, stats: &MemoStats) {
    for env in &mut report.environments {
        let prefix = format!("{}/", env.name);
        let mut apps: Vec<String> = env
            .rendered_apps
            .iter()
            .filter(|a| a.starts_with("hr."))
            .cloned()
            .chain(
                stats
                    .rendered
                    .iter()
                    .filter_map(|r| r.strip_prefix(&prefix).map(str::to_string)),
            )
            .collect();
        apps.sort();
        apps.dedup();
        env.rendered = apps.len();
        env.cached = env.apps.saturating_sub(apps.len());
        env.rendered_apps = apps;
    }
}
