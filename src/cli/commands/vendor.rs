//! `ferry vendor`.

use super::{cache_dir, load_pipeline, repo_root};
use crate::cli::args::{GlobalArgs, OutputFormat, VendorArgs};
use crate::cli::ExitCode;
use crate::config::ChartRef;
use crate::source::WorkTree;
use crate::vendor::oci_verify::{self, FlagKeys, KeyedVerify};
use crate::vendor::{
    oci_source, pipeline_charts, vendor_charts, ChartStore, Lock, RepoCredentials, VendorOptions,
    LOCK_FILE,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What vendoring a Flux repository's OCIRepository artifacts did: `(fetched, present)`.
type Artifacts = (Vec<String>, Vec<String>);

/// Charts whose OCIRepository sets `spec.verify`, with what it asks for.
type ChartChecks = Vec<(ChartRef, Option<String>, KeyedVerify)>;

/// What to vendor: the charts (and the tag filters of their ranges), the artifacts vendored,
/// the charts to verify.
type Wanted = (
    (BTreeSet<(String, ChartRef)>, BTreeMap<String, String>),
    Artifacts,
    ChartChecks,
);

/// The charts of the Flux repository's HelmReleases, in the working tree, after pulling the
/// OCIRepository artifacts its Kustomizations build (whose content may declare more of both:
/// the repository is followed again until nothing new appears). Every error of every cluster
/// is reported, and then no chart is fetched.
fn flux_charts(
    tree: &WorkTree,
    flux_root: &str,
    source_urls: &[String],
    (lock, cache_dir, vopts): (&mut Lock, &Path, &VendorOptions),
    flags: &FlagKeys,
) -> anyhow::Result<Wanted> {
    let roots = crate::flux::cluster_roots(tree, flux_root).map_err(anyhow::Error::msg)?;
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut checked: BTreeSet<(String, Option<String>)> = BTreeSet::new();
    let mut artifacts: Artifacts = Default::default();
    loop {
        let opts = crate::flux::Options {
            strict: false,
            source_urls: source_urls.to_vec(),
            // Each cluster is followed once per round: nothing to reuse.
            memo: None,
            vendored: Some(std::sync::Arc::new(crate::flux::oci::Vendored {
                lock: lock.clone(),
                cache_dir: cache_dir.to_path_buf(),
            })),
        };
        let mut clusters = Vec::new();
        let mut errors = Vec::new();
        for (name, root) in &roots {
            let (c, e) = crate::flux::discover_cluster(tree, name, root, &opts);
            clusters.push(c);
            errors.extend(e);
        }
        let sources: BTreeSet<_> = clusters
            .iter()
            .flat_map(|c| c.discovered.oci_sources.iter().cloned())
            .collect();
        let mut new = false;
        for src in &sources {
            let key = src.lock_key();
            // Each OCIRepository that verifies is checked, even when another one with the
            // same reference pinned the artifact already (its keys may differ).
            let verifying = src.verify.as_ref().map(|v| v.object.clone());
            if !checked.insert((key.clone(), verifying)) {
                continue;
            }
            let fetched = oci_source::vendor(
                src,
                lock,
                cache_dir,
                (vopts.update && !done.contains(&key), vopts.offline),
                flags,
            )?;
            let reported = artifacts.0.contains(&key) || artifacts.1.contains(&key);
            if fetched {
                new = true;
                artifacts.1.retain(|k| k != &key);
                if !artifacts.0.contains(&key) {
                    artifacts.0.push(key.clone());
                }
            } else if !reported {
                artifacts.1.push(key.clone());
            }
            done.insert(key);
        }
        if new {
            continue;
        }
        lock.artifacts.retain(|k, _| done.contains(k));
        if !errors.is_empty() {
            for e in &errors {
                eprintln!("error: {e}");
            }
            anyhow::bail!(
                "{} errors in the Flux repository under {flux_root}; no chart was fetched",
                errors.len()
            );
        }
        let checks = clusters
            .iter()
            .flat_map(|c| c.discovered.helm.iter())
            .filter_map(|h| {
                let v = h.unit.chart_verify.clone()?;
                Some((h.unit.chart.clone(), h.unit.chart_filter.clone(), v))
            })
            .collect();
        return Ok((
            crate::flux::charts::wanted(clusters.iter()),
            artifacts,
            checks,
        ));
    }
}

/// What to vendor: ferry.yaml's charts, the Flux repository's, or both.
fn wanted(
    a: &VendorArgs,
    tree: &WorkTree,
    root: &Path,
    flux: (&mut Lock, &Path, &VendorOptions),
    flags: &FlagKeys,
) -> anyhow::Result<Wanted> {
    let Some(flux_root) = &a.flux else {
        return Ok((
            (
                pipeline_charts(&load_pipeline(tree, root)?),
                BTreeMap::new(),
            ),
            Default::default(),
            Vec::new(),
        ));
    };
    let (mut charts, artifacts, checks) =
        flux_charts(tree, flux_root, &a.source_urls, flux, flags)?;
    if root.join(crate::config::FILE_NAME).is_file() {
        charts
            .0
            .extend(pipeline_charts(&load_pipeline(tree, root)?));
    }
    Ok((charts, artifacts, checks))
}

pub fn run(g: &GlobalArgs, a: VendorArgs) -> anyhow::Result<ExitCode> {
    let root = repo_root(&g.repo);
    let tree = WorkTree::open(&root);
    let lock_path = root.join(LOCK_FILE);
    let mut lock = match std::fs::read_to_string(&lock_path) {
        Ok(t) => Lock::parse(&lock_path, &t)?,
        Err(_) => Lock::default(),
    };
    let dir = cache_dir(g).ok_or_else(|| {
        anyhow::anyhow!("no cache directory\nhint: set --cache-dir or FERRY_CACHE_DIR")
    })?;
    let store = ChartStore::new(&dir);
    let mut opts = VendorOptions {
        update: a.update,
        offline: g.offline,
        ..VendorOptions::default()
    };
    let flags = FlagKeys::parse(&a.verify_keys).map_err(anyhow::Error::msg)?;
    let ((charts, filters), artifacts, checks) =
        wanted(&a, &tree, &root, (&mut lock, &dir, &opts), &flags)?;
    opts.filters = filters;
    let creds = RepoCredentials::parse(&a.repo_creds).map_err(|e| anyhow::anyhow!(e))?;
    let mut report = vendor_charts(charts, &mut lock, &store, &creds, &opts)?;
    // Before ferry.lock is written: a chart Flux would refuse is not pinned.
    for (chart, filter, v) in &checks {
        let exact = crate::flux::charts::pinned(chart, filter.as_deref(), &lock)
            .map_err(anyhow::Error::msg)?;
        oci_verify::verify_chart(&exact, &mut lock, v, (&flags, g.offline))?;
    }
    report.fetched.extend(artifacts.0);
    report.present.extend(artifacts.1);
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
                "{} charts and {} artifacts pinned in {}; cache: {}",
                lock.charts.len(),
                lock.artifacts.len(),
                lock_path.display(),
                store.dir().display()
            )?;
        }
        OutputFormat::Text => {}
    }
    Ok(ExitCode::Success)
}
