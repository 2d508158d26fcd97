//! Kustomizations whose `sourceRef` is an `OCIRepository`: the artifact `ferry vendor --flux`
//! pinned and unpacked into the cache is the tree their `path` is built in. A `Bucket` needs a
//! network and credentials ferry does not take, so it is an error saying what to do instead.

use crate::vendor::oci_source::{self, OciRef, OciSource};
use crate::vendor::{Lock, LOCK_FILE};
use serde_json::Value;
use std::path::PathBuf;

/// What `ferry vendor --flux` pinned and where its cache is, for builds.
#[derive(Debug, Clone)]
pub struct Vendored {
    pub lock: Lock,
    pub cache_dir: PathBuf,
}

/// What to run when an OCIRepository's content is missing.
pub const VENDOR_HINT: &str =
    "run `ferry vendor --flux` (it needs the network) and commit ferry.lock";

/// Why a Bucket cannot be built, and what to do instead.
pub const BUCKET: &str = "is a Bucket: S3-style buckets need the network and cloud credentials, which ferry does not take (builds are offline and reproducible)\nhint: publish the content as an OCI artifact (`ferry push`, or `flux push artifact`) and point the Kustomization at an OCIRepository, or keep it in this repository";

/// The OCIRepository `repo` as ferry reads it (`what` names it in errors).
///
/// # Errors
/// Not an `oci://` URL, an unsupported `layerSelector.operation`.
pub fn source_of(repo: &Value, what: &str) -> Result<OciSource, String> {
    let spec = &repo["spec"];
    let url = spec["url"].as_str().unwrap_or_default();
    if !url.starts_with("oci://") {
        return Err(format!(
            "{what}: spec.url `{url}` is not an oci:// URL\nhint: OCIRepository URLs look like oci://registry/repository"
        ));
    }
    let r = &spec["ref"];
    let reference = if let Some(d) = r["digest"].as_str() {
        OciRef::Digest(d.to_string())
    } else if let Some(s) = r["semver"].as_str() {
        crate::images::semver::Range::parse(s)
            .map_err(|e| format!("{what}: spec.ref.semver `{s}`: {e}"))?;
        OciRef::Semver(s.to_string())
    } else {
        // source-controller's default.
        OciRef::Tag(r["tag"].as_str().unwrap_or("latest").to_string())
    };
    let selector = &spec["layerSelector"];
    // Both operations give a Kustomization the layer's files: `extract` unpacks it in
    // source-controller, `copy` keeps the archive, which kustomize-controller then unpacks.
    match selector["operation"].as_str() {
        None | Some("extract" | "copy") => {}
        Some(other) => {
            return Err(format!(
                "{what}: spec.layerSelector.operation `{other}` is neither extract nor copy"
            ))
        }
    }
    Ok(OciSource {
        url: url.trim_end_matches('/').to_string(),
        reference,
        media_type: selector["mediaType"].as_str().map(str::to_string),
    })
}

/// Where a Kustomization's content comes from, when not from this repository.
#[derive(Debug, Clone)]
pub struct Content {
    /// The unpacked artifact.
    pub dir: PathBuf,
    /// `oci://host/repo@sha256:...`: the artifact pinned, for the index and messages.
    pub label: String,
}

/// The unpacked content of `src`, or the message saying it is not vendored.
pub fn content(src: &OciSource, vendored: Option<&Vendored>) -> Result<Content, String> {
    let why = match vendored {
        Some(v) => match oci_source::locate(src, &v.lock, &v.cache_dir) {
            Ok((dir, digest)) => {
                return Ok(Content {
                    dir,
                    label: format!("{}@{digest}", src.url),
                })
            }
            Err(e) => e,
        },
        None => format!(
            "the artifact {} is not pinned in {LOCK_FILE} (no vendor cache)",
            src.lock_key()
        ),
    };
    Err(format!("{why}\nhint: {VENDOR_HINT}"))
}
