//! `ferry.lock`: the digest of every chart that comes from outside the repository.

use super::VendorError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const LOCK_FILE: &str = "ferry.lock";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lock {
    #[serde(default = "lock_api_version")]
    pub api_version: String,
    #[serde(default = "lock_kind")]
    pub kind: String,
    /// Keyed by `oci://host/repo/chart@VERSION` or `https://repo#chart@VERSION`.
    #[serde(default)]
    pub charts: BTreeMap<String, LockedChart>,
    /// Version ranges resolved once, by `ferry vendor`: the key as in `charts` with the range
    /// where the version goes (`https://repo#chart@>=6.0.0 <7`), the value the version chosen.
    /// Flux HelmReleases and OCIRepositories may name a range; the build reads the pin.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ranges: BTreeMap<String, String>,
    /// Flux OCIRepository artifacts that Kustomizations build, keyed by
    /// `oci://host/repo:TAG` (or `@DIGEST`, or `:semver RANGE`, then `#MEDIA-TYPE` when a
    /// layer is selected).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, LockedArtifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockedArtifact {
    /// `sha256:<hex>` of the artifact's manifest.
    pub digest: String,
    /// `sha256:<hex>` of the layer unpacked (its content lives in the cache by this digest).
    pub layer: String,
    /// The tag a `ref.semver` range was resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When the OCIRepository sets `spec.verify`: the fingerprints (`sha256:` of the DER
    /// public key) of the keys whose cosign signature of `digest` `ferry vendor` verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified_by: Vec<String>,
}

fn lock_api_version() -> String {
    crate::config::API_VERSION.to_string()
}

fn lock_kind() -> String {
    "Lock".to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockedChart {
    /// `sha256:<hex>` of the chart archive.
    pub digest: String,
    /// For a chart of an OCIRepository that sets `spec.verify`: the fingerprints of the keys
    /// whose cosign signature of the chart's manifest (whose layer is `digest`) verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified_by: Vec<String>,
}

impl Lock {
    /// Parses lock text; `file` names it in errors.
    pub fn parse(file: &Path, text: &str) -> Result<Lock, VendorError> {
        // Two pins for one chart would leave serde's choice of digest standing.
        crate::manifest::strict::check_rules(text).map_err(|e| VendorError::LockFile {
            file: file.into(),
            message: format!("{e}\nhint: run `ferry vendor` to write it again"),
        })?;
        serde_yaml_ng::from_str(text).map_err(|e| VendorError::LockFile {
            file: file.into(),
            message: format!("{e}\nhint: run `ferry vendor` to write it again"),
        })
    }

    pub fn to_yaml(&self) -> String {
        let mut lock = self.clone();
        lock.api_version = lock_api_version();
        lock.kind = lock_kind();
        format!(
            "# Written by `ferry vendor`; pins every chart from outside the repository.\n{}",
            serde_yaml_ng::to_string(&lock).expect("lock serialises")
        )
    }
}
