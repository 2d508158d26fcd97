//! `ferry vendor`: fetch every remote chart (a Helm repository's index and archive over
//! HTTP(S), or an OCI registry's chart layer), store it by digest, pin it. No helm needed.

use super::http_repo::RepoCredentials;
use super::{sha256_file, ChartStore, Lock, LockedChart, VendorError};
use crate::config::{resolve, ChartRef, Pipeline, ResolvedSource};
use std::collections::BTreeSet;

pub struct VendorOptions {
    /// Accept a digest that differs from the pinned one (upstream re-published a version).
    pub update: bool,
    pub offline: bool,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct VendorReport {
    /// Charts fetched in this run.
    pub fetched: Vec<String>,
    /// Charts already in the store with the pinned digest.
    pub present: Vec<String>,
    /// Lock entries no app uses any more (removed from the lock).
    pub dropped: Vec<String>,
}

fn remote_charts(p: &Pipeline) -> BTreeSet<(String, ChartRef)> {
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
    let mut report = VendorReport::default();
    let wanted = remote_charts(p);
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
        lock.charts.insert(key.clone(), LockedChart { digest });
        report.fetched.push(key.clone());
    }
    Ok(report)
}
