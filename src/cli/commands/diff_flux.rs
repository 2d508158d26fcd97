//! `ferry diff --from BASE --flux [ROOT]`: the pull-request diff of a Flux repository, built
//! from what changed. Both revisions' clusters are followed; a Kustomization or HelmRelease
//! whose cache key (a digest of every input it reads and of its renderer) is the same on both
//! sides renders the same objects on both, so it cannot change the diff: it is skipped (never
//! rendered, for a HelmRelease) and counted. The rest are built on both sides and compared as
//! `ferry diff --from` compares builds.
//!
//! Kustomizations are rendered to learn what they deploy; one that reads the same inputs on
//! both sides is rendered once (the Flux memo, backed by the render cache on disk). Keys are
//! comparable between commits; against `--worktree` (files hashed another way) nothing is
//! skipped, and the diff is still right.

use super::build_flux::{self, FluxArgs, Resolved};
use super::diff::{asked_for, build_failed, compare_built, Built};
use super::inputs::open_tree;
use super::repo_root;
use crate::build::{build_pairs, pair_keys, BuildOptions, NoProgress};
use crate::cli::args::{DiffArgs, GlobalArgs};
use crate::config::{ResolvedApp, ResolvedSource};
use crate::diff::{DiffOptions, EnvDiff, SecretContext};
use crate::flux::Memo;
use crate::source::Tree;
use anyhow::{bail, Context};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

/// One revision: its tree and, when it has any of the clusters asked for, its units.
struct Side {
    rev: String,
    tree: Box<dyn Tree>,
    resolved: Option<Resolved>,
    known: BTreeSet<String>,
}

pub(super) fn changed_only(
    g: &GlobalArgs,
    a: &DiffArgs,
    from: &str,
    to: Option<&str>,
    opts: &DiffOptions,
    secrets: SecretContext<'_>,
) -> anyhow::Result<Vec<EnvDiff>> {
    let root = repo_root(&g.repo);
    let flux_root = a.flux.as_deref().unwrap_or("clusters");
    let memo = build_flux::memo(g, a.no_cache);
    let mut old = side(g, a, &root, Some(from), flux_root, &memo)?;
    let old_stats = memo.take_stats();
    let mut new = side(g, a, &root, to, flux_root, &memo)?;
    let new_stats = memo.take_stats();

    let (old_keys, new_keys) = (keys(&old), keys(&new));
    let ids = |s: &Side, keys: &[Option<String>]| -> HashSet<(String, String, String)> {
        pairs_of(s)
            .iter()
            .zip(keys)
            .filter_map(|(p, k)| Some((p.env.clone(), p.app.clone(), k.clone()?)))
            .collect()
    };
    let (old_ids, new_ids) = (ids(&old, &old_keys), ids(&new, &new_keys));
    let skipped = old_ids.intersection(&new_ids).count();
    let units: BTreeSet<(&str, &str)> = pairs_of(&old)
        .iter()
        .chain(pairs_of(&new))
        .map(|p| (p.env.as_str(), p.app.as_str()))
        .collect();
    let total = units.len();

    let scratch = tempfile::Builder::new()
        .prefix("ferry-diff-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let old_built = build_changed(a, &mut old, old_keys, &new_ids, &scratch.path().join("old"))?;
    let new_built = build_changed(a, &mut new, new_keys, &old_ids, &scratch.path().join("new"))?;
    if !g.quiet {
        eprintln!(
            "flux: {} of {total} Kustomizations and HelmReleases changed and were compared; {skipped} unchanged, skipped (Kustomizations rendered to follow the clusters: {} at {}, {} at {}; reused: {})",
            total - skipped,
            old_stats.rendered.len(),
            old.rev,
            new_stats.rendered.len(),
            new.rev,
            old_stats.reused + new_stats.reused,
        );
    }
    compare_built(a, from, to, &old_built, &new_built, opts, secrets)
}

fn pairs_of(s: &Side) -> &[ResolvedApp] {
    s.resolved.as_ref().map_or(&[], |r| r.pairs.as_slice())
}

/// What tells whether a pair renders the same objects on both sides: its cache key, and for a
/// Kustomization (rendered already, to follow the cluster) its spec and output alone, so a
/// change to a file beside it that it does not read, such as a HelmRelease's, leaves it out.
fn keys(s: &Side) -> Vec<Option<String>> {
    let Some(r) = &s.resolved else {
        return Vec::new();
    };
    pair_keys(&r.inputs.context(s.tree.as_ref()), &r.pairs)
        .into_iter()
        .zip(&r.pairs)
        .map(|(key, p)| match &p.source {
            ResolvedSource::Flux(f) => {
                key.map(|_| format!("flux {} {} {}", f.object, f.spec, f.output))
            }
            _ => key,
        })
        .collect()
}

/// Follows the clusters of one revision that are asked for (all without ENV arguments).
fn side(
    g: &GlobalArgs,
    a: &DiffArgs,
    root: &Path,
    rev: Option<&str>,
    flux_root: &str,
    memo: &Arc<Memo>,
) -> anyhow::Result<Side> {
    let tree = open_tree(root, rev)?;
    let rev = rev.unwrap_or("the working tree").to_string();
    // A revision without the root has no clusters: everything on the other side is new.
    let known: BTreeSet<String> = crate::flux::cluster_roots(tree.as_ref(), flux_root)
        .map(|roots| roots.into_iter().map(|(n, _)| n).collect())
        .unwrap_or_default();
    let wanted: Vec<String> = asked_for(&a.args, &known).into_iter().collect();
    if wanted.is_empty() {
        return Ok(Side {
            rev,
            tree,
            resolved: None,
            known,
        });
    }
    let args = FluxArgs {
        flux_root,
        environments: &wanted,
        strict: a.strict_substitution,
        source_urls: &a.source_urls,
        tools: &a.tools,
        no_cache: a.no_cache,
    };
    let resolved = build_flux::resolve(g, &args, root, tree.as_ref(), memo)
        .with_context(|| format!("in {}", tree.origin()))?;
    if !resolved.failed.is_empty() {
        let errors: Vec<String> = resolved
            .failed
            .iter()
            .flat_map(|(_, e)| e.iter().map(ToString::to_string))
            .collect();
        bail!(
            "cannot build {rev} ({}):\n  {}",
            tree.origin(),
            errors.join("\n  ")
        );
    }
    Ok(Side {
        rev,
        tree,
        resolved: Some(resolved),
        known,
    })
}

/// Builds the pairs of `s` whose key the other side does not have into `out`.
fn build_changed(
    a: &DiffArgs,
    s: &mut Side,
    keys: Vec<Option<String>>,
    other: &HashSet<(String, String, String)>,
    out: &Path,
) -> anyhow::Result<Built> {
    let Some(r) = s.resolved.as_mut() else {
        return Ok(Built {
            out: out.to_path_buf(),
            envs: BTreeSet::new(),
            known: s.known.clone(),
            violations: Vec::new(),
            tenants: BTreeSet::new(),
        });
    };
    // The scope of a custom kind is learned from the CRDs a build renders; those of skipped
    // Kustomizations are declared, so changed objects of that kind are placed as in a full build.
    r.inputs
        .pipeline
        .cluster_scoped
        .extend(cluster_scoped_kinds(&r.pairs));
    let pairs: Vec<ResolvedApp> = std::mem::take(&mut r.pairs)
        .into_iter()
        .zip(keys)
        .filter(|(p, k)| {
            k.as_ref()
                .is_none_or(|k| !other.contains(&(p.env.clone(), p.app.clone(), k.clone())))
        })
        .map(|(p, _)| p)
        .collect();
    let ctx = r.inputs.context(s.tree.as_ref());
    let opts = BuildOptions {
        environments: r.envs.clone(),
        jobs: a.jobs,
        out_dir: out.to_path_buf(),
        renderer: None,
        // A Flux repository declares no tenants.
        keep_violations: false,
    };
    let report = build_pairs(&ctx, &opts, &r.envs, pairs, &NoProgress)?;
    if !report.ok() {
        return Err(build_failed(&s.rev, &s.tree.origin(), &report));
    }
    Ok(Built {
        out: out.to_path_buf(),
        envs: r.envs.iter().cloned().collect(),
        known: s.known.clone(),
        violations: Vec::new(),
        tenants: BTreeSet::new(),
    })
}

/// `group/Kind` of every cluster-scoped CRD the Kustomizations render.
fn cluster_scoped_kinds(pairs: &[ResolvedApp]) -> Vec<String> {
    let mut out = Vec::new();
    for p in pairs {
        let ResolvedSource::Flux(f) = &p.source else {
            continue;
        };
        let Ok(docs) = crate::manifest::parse_rendered(f.rendered.text()) else {
            continue;
        };
        for d in docs {
            if d["kind"] == "CustomResourceDefinition" && d["spec"]["scope"] == "Cluster" {
                if let (Some(group), Some(kind)) = (
                    d["spec"]["group"].as_str(),
                    d["spec"]["names"]["kind"].as_str(),
                ) {
                    out.push(format!("{group}/{kind}"));
                }
            }
        }
    }
    out
}
