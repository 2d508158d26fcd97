//! `ferry vendor`: fetch every remote chart (a Helm repository's index and archive over
//! HTTP(S), or an OCI registry's chart layer), store it by digest, pin it. No helm needed.

use super::http_repo::RepoCredentials;
use super::{range, sha256_file, ChartStore, Lock, LockedChart, VendorError};
use crate::config::{resolve, ChartRef, Pipeline, ResolvedSource};
use std::collections::BTreeSet;

#[derive(Default)]
pub struct VendorOptions {
    /// Accept a digest that differs from the pinned one (upstream re-published a version).
    pub update: bool,
    pub offline: bool,
    /// Ranges (by their `ranges:` key) resolved only among the tags a regular expression
    /// matches: an OCIRepository's `spec.ref.semverFilter`.
    pub filters: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct VendorReport {
    /// Charts fetched in this run.
    pub fetched: Vec<String>,
    /// Charts already in the store with the pinned digest.
    pub present: Vec<String>,
    /// Lock entries no app uses any more (removed from the lock).
    pub dropped: Vec<String>,
    /// Version ranges resolved in this run: `KEY -> VERSION`.
    pub resolved: Vec<String>,
}

/// The remote charts of a pipeline's apps, keyed as in the lock.
pub fn pipeline_charts(p: &Pipeline) -> BTreeSet<(String, ChartRef)> {
    let envs: Vec<String> = p.environments.keys().cloned().collect();
    resolve(p, &envs)
        .into_iter()
        .filter_map(|a| match a.source {
            ResolvedSource::Helm(h) => h.chart.lock_key().map(|k| (k, h.chart)),
            _ => None,
        })
        .collect()
}

/// The archive of a remote chart, fetched by ferry itself.
fn fetch(chart: &ChartRef, creds: &RepoCredentials) -> Result<Vec<u8>, String> {
    match chart {
        ChartRef::Oci { url, version } => super::oci_chart::fetch(url, version),
        ChartRef::Repo {
            repo,
            name,
            version,
        } => super::http_repo::fetch(repo, name, version, creds),
        ChartRef::Local { path } => Err(format!("{path} is in the repository")),
    }
}

/// Fetches every remote chart the pipeline uses that the store lacks, and updates `lock`.
pub fn vendor(
    p: &Pipeline,
    lock: &mut Lock,
    store: &ChartStore,
    creds: &RepoCredentials,
    opts: &VendorOptions,
) -> Result<VendorReport, VendorError> {
    vendor_charts(pipeline_charts(p), lock, store, creds, opts)
}

/// Pins each range of `wanted` to a version: the one `lock` holds, else (or with `--update`)
/// the highest the source lists now. Ranges no chart names any more leave the lock.
fn pin_ranges(
    wanted: BTreeSet<(String, ChartRef)>,
    lock: &mut Lock,
    creds: &RepoCredentials,
    opts: &VendorOptions,
    report: &mut VendorReport,
) -> Result<BTreeSet<(String, ChartRef)>, VendorError> {
    let mut exact = BTreeSet::new();
    let mut ranges = std::collections::BTreeMap::new();
    for (key, chart) in wanted {
        if !range::is_range(range::version_of(&chart)) {
            exact.insert((key, chart));
            continue;
        }
        let version = match lock.ranges.get(&key) {
            Some(v) if !opts.update => v.clone(),
            _ => {
                if opts.offline {
                    return Err(VendorError::Offline);
                }
                let filter = opts.filters.get(&key).map(String::as_str);
                let v = range::resolve(&chart, creds, filter).map_err(|message| {
                    VendorError::Fetch {
                        chart: key.clone(),
                        message,
                    }
                })?;
                report.resolved.push(format!("{key} -> {v}"));
                v
            }
        };
        let pinned = range::with_version(&chart, &version);
        if let Some(k) = pinned.lock_key() {
            exact.insert((k, pinned));
        }
        ranges.insert(key, version);
    }
    for k in lock.ranges.keys() {
        if !ranges.contains_key(k) {
            report.dropped.push(k.clone());
        }
    }
    lock.ranges = ranges;
    Ok(exact)
}

/// Fetches every chart of `wanted` (lock key and chart; a range is resolved and pinned first)
/// that the store lacks, and updates `lock`: entries not wanted are dropped.
pub fn vendor_charts(
    wanted: BTreeSet<(String, ChartRef)>,
    lock: &mut Lock,
    store: &ChartStore,
    creds: &RepoCredentials,
    opts: &VendorOptions,
) -> Result<VendorReport, VendorError> {
    let mut report = VendorReport::default();
    let wanted = pin_ranges(wanted, lock, creds, opts, &mut report)?;
    let keys: BTreeSet<&String> = wanted.iter().map(|(k, _)| k).collect();
    let before: Vec<String> = lock.charts.keys().cloned().collect();
    for k in before {
        if !keys.contains(&k) {
            lock.charts.remove(&k);
            report.dropped.push(k);
        }
    }
    std::fs::create_dir_all(store.dir())
        .map_err(|e| VendorError::Io(format!("{}: {e}", store.dir().display())))?;
    for (key, chart) in &wanted {
        if store.locate(chart, lock).is_ok() {
            report.present.push(key.clone());
            continue;
        }
        if opts.offline {
            return Err(VendorError::Offline);
        }
        let data = fetch(chart, creds).map_err(|message| VendorError::Fetch {
            chart: key.clone(),
            message,
        })?;
        // Written beside the store and renamed into place: never a half-written archive.
        let tmp = tempfile::NamedTempFile::new_in(store.dir())
            .map_err(|e| VendorError::Io(e.to_string()))?;
        std::fs::write(tmp.path(), &data).map_err(|e| VendorError::Io(e.to_string()))?;
        let archive = tmp.path().to_path_buf();
        let digest = sha256_file(&archive).map_err(|e| VendorError::Io(e.to_string()))?;
        if let Some(pinned) = lock.charts.get(key) {
            if pinned.digest != digest && !opts.update {
                return Err(VendorError::Changed {
                    chart: key.clone(),
                    pinned: pinned.digest.clone(),
                    fetched: digest,
                });
            }
        }
        tmp.persist(store.path_of(&digest))
            .map_err(|e| VendorError::Io(e.to_string()))?;
        lock.charts.insert(
            key.clone(),
            LockedChart {
                digest,
                verified_by: Vec::new(),
            },
        );
        report.fetched.push(key.clone());
    }
    Ok(report)
}
