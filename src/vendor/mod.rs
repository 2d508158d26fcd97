//! Charts from Helm repositories and OCI registries. `ferry vendor` is the only command that
//! fetches them (itself: no helm), into a content-addressed chart store, and pins each one's
//! digest in `ferry.lock`; `ferry build` reads them from the store and never from the network.

mod fetch;
mod http_repo;
mod lock;
mod oci_chart;
pub mod oci_source;
pub mod oci_verify;
pub mod range;

pub use fetch::{pipeline_charts, vendor, vendor_charts, VendorOptions, VendorReport};
pub use http_repo::RepoCredentials;
pub use lock::{Lock, LockedArtifact, LockedChart, LOCK_FILE};

use crate::config::ChartRef;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    #[error("chart {chart} is not pinned in {LOCK_FILE}\nhint: run `ferry vendor` (it needs the network) and commit {LOCK_FILE}")]
    NotLocked { chart: String },
    #[error("chart {chart} ({digest}) is not in the chart cache at {}\nhint: run `ferry vendor` to fetch it (it needs the network), or point --cache-dir at a cache that has it", dir.display())]
    NotCached {
        chart: String,
        digest: String,
        dir: PathBuf,
    },
    #[error("chart {chart} in the chart cache does not match {LOCK_FILE}: expected {expected}, found {found}\nhint: run `ferry vendor` to fetch it again")]
    DigestMismatch {
        chart: String,
        expected: String,
        found: String,
    },
    #[error("{}: {message}", file.display())]
    LockFile { file: PathBuf, message: String },
    #[error("fetching {chart} failed: {message}")]
    Fetch { chart: String, message: String },
    #[error("chart {chart} changed upstream: {LOCK_FILE} pins {pinned}, the registry now serves {fetched}\nhint: if this is expected, run `ferry vendor --update`")]
    Changed {
        chart: String,
        pinned: String,
        fetched: String,
    },
    #[error("`ferry vendor` needs the network, and --offline (or FERRY_OFFLINE) forbids it")]
    Offline,
    /// An OCIRepository's `spec.verify` refused the artifact, or has no key to check it with.
    #[error("{0}")]
    Verify(String),
    #[error("{0}")]
    Io(String),
}

/// Chart archives stored by digest: `DIR/charts/sha256-<hex>.tgz`.
#[derive(Debug, Clone)]
pub struct ChartStore {
    dir: PathBuf,
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let data = std::fs::read(path)?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(&data))))
}

impl ChartStore {
    pub fn new(cache_dir: &Path) -> ChartStore {
        ChartStore {
            dir: cache_dir.join("charts"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{}.tgz", digest.replace(':', "-")))
    }

    /// The verified archive for a pinned chart.
    pub fn locate(&self, chart: &ChartRef, lock: &Lock) -> Result<PathBuf, VendorError> {
        let key = chart.lock_key().unwrap_or_default();
        let pinned = lock
            .charts
            .get(&key)
            .ok_or_else(|| VendorError::NotLocked { chart: key.clone() })?;
        let path = self.path_of(&pinned.digest);
        let found = sha256_file(&path).map_err(|_| VendorError::NotCached {
            chart: key.clone(),
            digest: pinned.digest.clone(),
            dir: self.dir.clone(),
        })?;
        if found != pinned.digest {
            return Err(VendorError::DigestMismatch {
                chart: key,
                expected: pinned.digest.clone(),
                found,
            });
        }
        Ok(path)
    }
}
