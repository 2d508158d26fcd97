//! The remote charts of a Flux repository's HelmReleases (HelmRepository, `type: oci`,
//! OCIRepository and HelmChart sources): what `ferry vendor --flux` fetches, and how a build
//! finds them again offline: a version range through the version `ferry.lock` pinned for it,
//! then the archive in the chart store by the digest pinned for that version.

use super::Cluster;
use crate::config::ChartRef;
use crate::vendor::{range, ChartStore, Lock, VendorError, LOCK_FILE};
use std::collections::{BTreeMap, BTreeSet};

/// What to run when a chart is missing.
pub const VENDOR_HINT: &str =
    "run `ferry vendor --flux` (it needs the network) and commit ferry.lock";

/// Every remote chart the clusters' HelmReleases use, keyed as in the lock (a range keeps
/// its range in the key: `ferry vendor` resolves it), and the tag filters of ranges by key.
pub fn wanted<'a>(
    clusters: impl Iterator<Item = &'a Cluster>,
) -> (BTreeSet<(String, ChartRef)>, BTreeMap<String, String>) {
    let mut charts = BTreeSet::new();
    let mut filters = BTreeMap::new();
    for h in clusters.flat_map(|c| c.discovered.helm.iter()) {
        let filter = h.unit.chart_filter.as_deref();
        if let Some(k) = range_key(&h.unit.chart, filter) {
            if let Some(f) = filter {
                filters.insert(k.clone(), f.to_string());
            }
            charts.insert((k, h.unit.chart.clone()));
        }
    }
    (charts, filters)
}

/// The key of `chart` in the lock; for a range resolved among the tags `filter` matches,
/// `oci://host/repo/chart@RANGE filter REGEX` (its own pin: another filter picks another
/// version).
pub fn range_key(chart: &ChartRef, filter: Option<&str>) -> Option<String> {
    let key = chart.lock_key()?;
    Some(match filter {
        Some(f) if range::is_range(range::version_of(chart)) => format!("{key} filter {f}"),
        _ => key,
    })
}

/// `chart` with the version `lock` pinned for its range (unchanged when it names one).
///
/// # Errors
/// A range with no pin, with what to run.
pub fn pinned(chart: &ChartRef, filter: Option<&str>, lock: &Lock) -> Result<ChartRef, String> {
    let version = range::version_of(chart);
    if matches!(chart, ChartRef::Local { .. }) || !range::is_range(version) {
        return Ok(chart.clone());
    }
    let key = range_key(chart, filter).unwrap_or_default();
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
pub fn locate(
    chart: &ChartRef,
    filter: Option<&str>,
    lock: &Lock,
    store: &ChartStore,
) -> Result<ChartRef, String> {
    let exact = pinned(chart, filter, lock)?;
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
