//! The artifact sides of `ferry diff`: an `oci://` argument, and `--against pushed` (each
//! environment's last pushed artifact against a fresh build). Artifacts are pulled, their
//! signature and digests verified, into private temporary directories and read like builds.

use super::diff::{build_revision, Built};
use super::inputs::open_tree;
use super::oci_pull::{pull_temp, PulledDir, Trust};
use super::{load_pipeline, repo_root};
use crate::artifact::ArtifactRef;
use crate::cli::args::{DiffArgs, GlobalArgs};
use crate::diff::{self, Build, DiffOptions, EnvDiff, SecretContext};
use anyhow::{bail, Context};
use std::path::PathBuf;

/// One side of `ferry diff OLD NEW`; a pulled artifact's directory lives as long as this.
pub(super) enum Side {
    Dir(PathBuf),
    Pulled(Box<PulledDir>),
}

impl Side {
    pub fn path(&self) -> PathBuf {
        match self {
            Side::Dir(p) => p.clone(),
            Side::Pulled(p) => p.path(),
        }
    }
}

fn trust(a: &DiffArgs) -> Trust<'_> {
    Trust {
        keys: &a.verify.keys,
        insecure_skip_verify: a.verify.insecure_skip_verify,
    }
}

/// Pulls and verifies `oci://...` into a temporary directory; anything else is a directory.
pub(super) fn side(g: &GlobalArgs, a: &DiffArgs, arg: &str) -> anyhow::Result<Side> {
    if !arg.starts_with("oci://") {
        return Ok(Side::Dir(PathBuf::from(arg)));
    }
    let r = ArtifactRef::parse(arg)?;
    let pulled = pull_temp(g, &a.registry, &trust(a), &r)?;
    note(g, &pulled);
    Ok(Side::Pulled(Box::new(pulled)))
}

/// On stderr, so that stdout stays the diff: which artifact exactly was compared.
fn note(g: &GlobalArgs, p: &PulledDir) {
    if g.quiet {
        return;
    }
    let v = &p.verified;
    let how = if v.signed {
        "signature verified"
    } else {
        "signature NOT checked"
    };
    let rev = v
        .manifest
        .provenance()
        .revision
        .unwrap_or_else(|| "no revision".into());
    eprintln!("pulled oci://{} ({how}; {rev})", v.reference);
}

/// `ferry diff --against pushed [ENV...]`: for each environment with an `artifact:` (or each
/// one named), its artifact at `--tag` is the old side and a build of `--to` (default HEAD, or
/// the working tree with `--worktree`) the new one.
pub(super) fn against_pushed(
    g: &GlobalArgs,
    a: &DiffArgs,
    opts: &DiffOptions,
    secrets: SecretContext<'_>,
) -> anyhow::Result<Vec<EnvDiff>> {
    let root = repo_root(&g.repo);
    let rev = (!a.worktree).then(|| a.to.as_deref().unwrap_or("HEAD"));
    // Where each environment ships to, as the revision being compared says.
    let tree = open_tree(&root, rev)?;
    let pipeline = load_pipeline(tree.as_ref(), &root)?;
    let targets = targets(&pipeline, &a.args, &a.tag)?;
    // Pull first: a refused signature fails fast, before minutes of rendering.
    let mut pulled = Vec::new();
    for (env, r) in &targets {
        let p = pull_temp(g, &a.registry, &trust(a), r).with_context(|| {
            format!("environment {env}: comparing with its last pushed artifact")
        })?;
        note(g, &p);
        pulled.push(p);
    }
    let scratch = tempfile::Builder::new()
        .prefix("ferry-diff-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let built: Built = build_revision(g, a, &root, rev, &scratch.path().join("new"))?;
    targets
        .iter()
        .zip(&pulled)
        .map(|((env, _), p)| {
            let old = diff::load_dir(&p.path())?;
            if old.environment != *env {
                bail!(
                    "oci://{} holds environment {:?}, not {env:?}\nhint: check environments.{env}.artifact in ferry.yaml",
                    p.verified.reference,
                    old.environment
                );
            }
            let new = if built.envs.contains(env) {
                diff::load_dir(&built.out.join(env))?
            } else {
                Build::empty(env)
            };
            let mut d = diff::compare(&old, &new, opts, secrets)?;
            d.violations = built.violations_of(env);
            d.tenants.extend(built.tenants.iter().cloned());
            Ok(d)
        })
        .collect()
}

/// The environments to compare and their artifacts at `tag`.
fn targets(
    pipeline: &crate::config::Pipeline,
    asked: &[String],
    tag: &str,
) -> anyhow::Result<Vec<(String, ArtifactRef)>> {
    if !crate::artifact::reference::valid_tag(tag) {
        bail!("--tag {tag:?} is not a valid tag");
    }
    let names: Vec<&String> = if asked.is_empty() {
        pipeline
            .environments
            .iter()
            .filter(|(_, e)| e.artifact.is_some())
            .map(|(n, _)| n)
            .collect()
    } else {
        asked.iter().collect()
    };
    if names.is_empty() {
        bail!("no environment in ferry.yaml has an `artifact:`, so nothing was pushed to compare with\nhint: set environments.<env>.artifact, or compare with an artifact directly: ferry diff oci://HOST/REPO:TAG out/<env>");
    }
    names
        .into_iter()
        .map(|name| {
            let Some(env) = pipeline.environments.get(name) else {
                let known: Vec<&str> = pipeline.environments.keys().map(String::as_str).collect();
                bail!(
                    "ferry.yaml has no environment {name:?}\nhint: environments: {}",
                    known.join(", ")
                );
            };
            let Some(artifact) = &env.artifact else {
                bail!("ferry.yaml: environments.{name}.artifact is not set, so it has no pushed artifact\nhint: set it, or leave {name} out");
            };
            let r = ArtifactRef::parse(artifact)
                .with_context(|| format!("ferry.yaml: environments.{name}.artifact"))?;
            Ok((name.clone(), r.with_tag(tag)))
        })
        .collect()
}
