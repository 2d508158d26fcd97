//! The remote charts of a Flux repository's HelmReleases (HelmRepository, `type: oci`,
//! OCIRepository and HelmChart sources): what `ferry vendor --flux` fetches, and how a build
//! finds them again offline: a version range through the version `ferry.lock` pinned for it,
//! then the archive in the chart store by the digest pinned for that version.

use super::Cluster;
use crate::config::ChartRef;
use crate::vendor::{range, ChartStore, Lock, VendorError, LOCK_FILE};
use std::collections::BTreeSet;

/// What to run when a chart is missing.
pub const VENDOR_HINT: &str =
    "run `ferry vendor --flux` (it needs the network) and commit ferry.lock";

/// Every remote chart the clusters' HelmReleases use, keyed as in the lock (a range keeps
/// its range in the key: `ferry vendor` resolves it).
pub fn wanted<'a>(clusters: impl Iterator<Item = &'a Cluster>) -> BTreeSet<(String, ChartRef)> {
    clusters
        .flat_map(|c| c.discovered.helm.iter())
        .filter_map(|h| h.unit.chart.lock_key().map(|k| (k, h.unit.chart.clone())))
        .collect()
}

/// `chart` with the version `lock` pinned for its range (unchanged when it names one).
///
/// # Errors
/// A range with no pin, with what to run.
pub fn pinned(chart: &ChartRef, lock: &Lock) -> Result<ChartRef, String> {
    let version = range::version_of(chart);
    if matches!(chart, ChartRef::Local { .. }) || !range::is_range(version) {
        return Ok(chart.clone());
    }
    let key = chart.lock_key().unwrap_or_default();
    match lock.ranges.get(&key) {
        Some(v) => Ok(range::with_version(chart, v)),
        None => Err(format!(
            "the version range `{version}` of chart {key} is not pinned in {LOCK_FILE}\nhint: {VENDOR_HINT}"
        )),
    }
}

/// The pinned chart, checked to be in the store, or what to do about it.
///
/// # Errors
/// Not pinned, not in the store, or damaged there.
pub fn locate(chart: &ChartRef, lock: &Lock, store: &ChartStore) -> Result<ChartRef, String> {
    let exact = pinned(chart, lock)?;
    match store.locate(&exact, lock) {
        Ok(_) => Ok(exact),
        Err(VendorError::NotLocked { chart }) => Err(format!(
            "chart {chart} is not pinned in {LOCK_FILE}\nhint: {VENDOR_HINT}"
        )),
        Err(VendorError::NotCached { chart, digest, dir }) => Err(format!(
            "chart {chart} ({digest}) is not in the chart cache at {}\nhint: {VENDOR_HINT}, or point --cache-dir at a cache that has it",
            dir.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}
