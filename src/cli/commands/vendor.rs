//! `ferry vendor`.

use super::{cache_dir, load_pipeline, repo_root};
use crate::cli::args::{GlobalArgs, OutputFormat, VendorArgs};
use crate::cli::ExitCode;
use crate::config::ChartRef;
use crate::source::WorkTree;
use crate::vendor::{
    pipeline_charts, vendor_charts, ChartStore, Lock, RepoCredentials, VendorOptions, LOCK_FILE,
};
use std::collections::BTreeSet;
use std::path::Path;

/// The charts of the Flux repository's HelmReleases, in the working tree; every error of
/// every cluster is reported, and then nothing is fetched.
fn flux_charts(
    tree: &WorkTree,
    flux_root: &str,
    source_urls: &[String],
) -> anyhow::Result<BTreeSet<(String, ChartRef)>> {
    let roots = crate::flux::cluster_roots(tree, flux_root).map_err(anyhow::Error::msg)?;
    let opts = crate::flux::Options {
        strict: false,
        source_urls: source_urls.to_vec(),
        // Each cluster is followed once: nothing to reuse.
        memo: None,
    };
    let mut clusters = Vec::new();
    let mut errors = Vec::new();
    for (name, root) in &roots {
        let (c, e) = crate::flux::discover_cluster(tree, name, root, &opts);
        clusters.push(c);
        errors.extend(e);
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        anyhow::bail!(
            "{} errors in the Flux repository under {flux_root}; nothing was fetched",
            errors.len()
        );
    }
    Ok(crate::flux::charts::wanted(clusters.iter()))
}

/// What to vendor: ferry.yaml's charts, the Flux repository's, or both.
fn wanted(
    a: &VendorArgs,
    tree: &WorkTree,
    root: &Path,
) -> anyhow::Result<BTreeSet<(String, ChartRef)>> {
    let Some(flux_root) = &a.flux else {
        return Ok(pipeline_charts(&load_pipeline(tree, root)?));
    };
    let mut charts = flux_charts(tree, flux_root, &a.source_urls)?;
    if root.join(crate::config::FILE_NAME).is_file() {
        charts.extend(pipeline_charts(&load_pipeline(tree, root)?));
    }
    Ok(charts)
}

pub fn run(g: &GlobalArgs, a: VendorArgs) -> anyhow::Result<ExitCode> {
    let root = repo_root(&g.repo);
    let tree = WorkTree::open(&root);
    let charts = wanted(&a, &tree, &root)?;
    let lock_path = root.join(LOCK_FILE);
    let mut lock = match std::fs::read_to_string(&lock_path) {
        Ok(t) => Lock::parse(&lock_path, &t)?,
        Err(_) => Lock::default(),
    };
    let dir = cache_dir(g).ok_or_else(|| {
        anyhow::anyhow!("no cache directory\nhint: set --cache-dir or FERRY_CACHE_DIR")
    })?;
    let store = ChartStore::new(&dir);
    let opts = VendorOptions {
        update: a.update,
        offline: g.offline,
    };
    let creds = RepoCredentials::parse(&a.repo_creds).map_err(|e| anyhow::anyhow!(e))?;
    let report = vendor_charts(charts, &mut lock, &store, &creds, &opts)?;
    let text = lock.to_yaml();
    if std::fs::read_to_string(&lock_path).ok().as_deref() != Some(text.as_str()) {
        let tmp = tempfile::NamedTempFile::new_in(&root)?;
        std::fs::write(tmp.path(), &text)?;
        tmp.persist(&lock_path)?;
    }
    match a.output {
        OutputFormat::Json => crate::outln!("{}", serde_json::to_string_pretty(&report)?)?,
        OutputFormat::Text if !g.quiet => {
            for c in &report.resolved {
                crate::outln!("resolved {c}")?;
            }
            for c in &report.fetched {
                crate::outln!("fetched  {c}")?;
            }
            for c in &report.present {
                crate::outln!("present  {c}")?;
            }
            for c in &report.dropped {
                crate::outln!("dropped  {c} (no app uses it)")?;
            }
            crate::outln!(
                "{} charts pinned in {}; cache: {}",
                lock.charts.len(),
                lock_path.display(),
                store.dir().display()
            )?;
        }
        OutputFormat::Text => {}
    }
    Ok(ExitCode::Success)
}
