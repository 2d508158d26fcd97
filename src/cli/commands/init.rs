//! `ferry init`.

use super::repo_root;
use crate::cli::args::{GlobalArgs, InitArgs};
use crate::cli::ExitCode;
use crate::config::{FILE_NAME, STARTER};

pub fn run(g: &GlobalArgs, a: InitArgs) -> anyhow::Result<ExitCode> {
    let path = repo_root(&g.repo).join(FILE_NAME);
    if path.exists() && !a.force {
        anyhow::bail!(
            "{} exists already\nhint: pass --force to overwrite it",
            path.display()
        );
    }
    if let Some(root) = &a.from_flux {
        return from_flux(g, &a, root, &path);
    }
    std::fs::write(&path, STARTER)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    if !g.quiet {
        eprintln!(
            "wrote {}: add your environments and apps, then run `ferry build`",
            path.display()
        );
    }
    Ok(ExitCode::Success)
}

/// `--from-flux ROOT`: every cluster followed in the working tree, then converted.
fn from_flux(
    g: &GlobalArgs,
    a: &InitArgs,
    flux_root: &str,
    path: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let root = repo_root(&g.repo);
    let tree = crate::source::WorkTree::open(&root);
    let roots = crate::flux::cluster_roots(&tree, flux_root).map_err(anyhow::Error::msg)?;
    let opts = crate::flux::Options {
        strict: false,
        source_urls: a.source_urls.clone(),
        // Each cluster is followed once: nothing to reuse.
        memo: None,
        vendored: Some(super::build_flux::vendored(g, &tree, &root)?),
    };
    let mut clusters = Vec::new();
    let mut errors = Vec::new();
    for (name, croot) in &roots {
        let (c, e) = crate::flux::discover_cluster(&tree, name, croot, &opts);
        errors.extend(e);
        let r = super::build_flux::recipients(&root, croot)?;
        clusters.push((c, r));
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        anyhow::bail!("{} errors in the Flux repository under {flux_root}; ferry.yaml not written\nhint: `ferry build --flux` shows the same errors", errors.len());
    }
    let lock_path = root.join(crate::vendor::LOCK_FILE);
    let lock = match std::fs::read_to_string(&lock_path) {
        Ok(t) => crate::vendor::Lock::parse(&lock_path, &t)?,
        Err(_) => crate::vendor::Lock::default(),
    };
    let converted = crate::flux::init::convert(&tree, &clusters, &lock);
    for n in &converted.notes {
        eprintln!("not carried over: {n}");
    }
    if converted.apps == 0 {
        anyhow::bail!("no Kustomization or HelmRelease of the Flux repository under {flux_root} can be carried over (each is named above with why); {} not written\nhint: keep building this repository with `ferry build --flux`", path.display());
    }
    // Checked as `ferry build` will read it before it is written.
    crate::config::parse(path, &converted.yaml)?;
    let tmp = tempfile::NamedTempFile::new_in(&root)?;
    std::fs::write(tmp.path(), &converted.yaml)?;
    tmp.persist(path)?;
    if !g.quiet {
        eprintln!(
            "wrote {} from the Flux repository under {flux_root} ({} clusters); check it with `ferry build`",
            path.display(),
            clusters.len()
        );
    }
    Ok(ExitCode::Success)
}
