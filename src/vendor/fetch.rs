//! `ferry vendor`: fetch every remote chart with `helm pull`, store it by digest, pin it.

use super::{sha256_file, ChartStore, Lock, LockedChart, VendorError};
use crate::config::{resolve, ChartRef, Pipeline, ResolvedSource};
use crate::render::Tool;
use std::collections::BTreeSet;
use std::process::Command;

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

fn helm_pull(helm: &Tool, chart: &ChartRef, dest: &std::path::Path) -> Result<(), String> {
    let mut cmd = Command::new(&helm.path);
    cmd.arg("pull").arg("--destination").arg(dest);
    match chart {
        ChartRef::Oci { url, version } => {
            cmd.arg(url).arg("--version").arg(version);
            if is_loopback(url) {
                cmd.arg("--plain-http");
            }
        }
        ChartRef::Repo { repo, name, version } => {
            cmd.arg(name).arg("--repo").arg(repo).arg("--version").arg(version);
        }
        ChartRef::Local { .. } => return Ok(()),
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(())
}

/// Registries on this machine speak plain HTTP; everything else must use TLS.
fn is_loopback(url: &str) -> bool {
    let host = url.trim_start_matches("oci://").split('/').next().unwrap_or("");
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

/// Fetches every remote chart the pipeline uses that the store lacks, and updates `lock`.
pub fn vendor(p: &Pipeline, lock: &mut Lock, store: &ChartStore, helm: &Tool, opts: &VendorOptions) -> Result<VendorReport, VendorError> {
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
    std::fs::create_dir_all(store.dir()).map_err(|e| VendorError::Io(format!("{}: {e}", store.dir().display())))?;
    for (key, chart) in &wanted {
        if store.locate(chart, lock).is_ok() {
            report.present.push(key.clone());
            continue;
        }
        if opts.offline {
            return Err(VendorError::Offline);
        }
        let tmp = tempfile::tempdir_in(store.dir()).map_err(|e| VendorError::Io(e.to_string()))?;
        helm_pull(helm, chart, tmp.path()).map_err(|message| VendorError::Fetch { chart: key.clone(), message })?;
        let archive = std::fs::read_dir(tmp.path())
            .map_err(|e| VendorError::Io(e.to_string()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "tgz"))
            .ok_or_else(|| VendorError::Fetch { chart: key.clone(), message: "helm pull wrote no .tgz".into() })?;
        let digest = sha256_file(&archive).map_err(|e| VendorError::Io(e.to_string()))?;
        if let Some(pinned) = lock.charts.get(key) {
            if pinned.digest != digest && !opts.update {
                return Err(VendorError::Changed { chart: key.clone(), pinned: pinned.digest.clone(), fetched: digest });
            }
        }
        std::fs::rename(&archive, store.path_of(&digest)).map_err(|e| VendorError::Io(e.to_string()))?;
        lock.charts.insert(key.clone(), LockedChart { digest });
        report.fetched.push(key.clone());
    }
    Ok(report)
}
