//! Kustomizations whose `sourceRef` is an `OCIRepository`: the artifact `ferry vendor --flux`
//! pinned and unpacked into the cache is the tree their `path` is built in. A `Bucket` needs a
//! network and credentials ferry does not take, so it is an error saying what to do instead.

use crate::vendor::oci_source::{self, OciRef, OciSource};
use crate::vendor::oci_verify;
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
    let mut semver_filter = None;
    let reference = if let Some(d) = r["digest"].as_str() {
        OciRef::Digest(d.to_string())
    } else if let Some(s) = r["semver"].as_str() {
        crate::images::semver::Range::parse(s)
            .map_err(|e| format!("{what}: spec.ref.semver `{s}`: {e}"))?;
        // source-controller applies the filter to the tags only when it resolves a range.
        if let Some(f) = r["semverFilter"].as_str().filter(|f| !f.is_empty()) {
            regex::Regex::new(f).map_err(|e| {
                format!("{what}: spec.ref.semverFilter `{f}` is not a regular expression: {e}")
            })?;
            semver_filter = Some(f.to_string());
        }
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
        semver_filter,
        verify: None,
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
                if let Some(verify) = &src.verify {
                    let by = &v.lock.artifacts[&src.lock_key()].verified_by;
                    oci_verify::satisfied(verify, &digest, by)?;
                }
                return Ok(Content {
                    dir,
                    label: format!("{}@{digest}", src.url),
                });
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo(spec: Value) -> Value {
        json!({"kind": "OCIRepository", "spec": spec})
    }

    #[test]
    fn reads_the_ref_in_flux_order_of_precedence() {
        let url = "oci://r.example/fleet/apps";
        let s = |r: Value| source_of(&repo(json!({"url": url, "ref": r})), "x").expect("ok");
        assert_eq!(
            s(json!({"tag": "v1", "semver": ">=1", "digest": "sha256:ab"})).reference,
            OciRef::Digest("sha256:ab".into())
        );
        assert_eq!(
            s(json!({"tag": "v1", "semver": ">=1"})).reference,
            OciRef::Semver(">=1".into())
        );
        assert_eq!(s(json!({"tag": "v1"})).reference, OciRef::Tag("v1".into()));
        assert_eq!(s(json!(null)).reference, OciRef::Tag("latest".into()));
        assert_eq!(s(json!({"tag": "v1"})).lock_key(), format!("{url}:v1"));
    }

    #[test]
    fn bad_sources_say_which_field() {
        let e = source_of(
            &repo(json!({"url": "https://r.example/x"})),
            "OCIRepository a/b",
        )
        .unwrap_err();
        assert!(
            e.starts_with("OCIRepository a/b: spec.url") && e.contains("oci://"),
            "{e}"
        );
        let e = source_of(
            &repo(json!({"url": "oci://r/x", "layerSelector": {"operation": "merge"}})),
            "o",
        )
        .unwrap_err();
        assert!(e.contains("spec.layerSelector.operation `merge`"), "{e}");
        let e = source_of(
            &repo(json!({"url": "oci://r/x", "ref": {"semver": ">=banana"}})),
            "o",
        )
        .unwrap_err();
        assert!(e.contains("spec.ref.semver `>=banana`"), "{e}");
        let selected = source_of(
            &repo(json!({"url": "oci://r/x/", "layerSelector": {"mediaType": "m", "operation": "extract"}})),
            "o",
        )
        .expect("ok");
        assert_eq!(selected.lock_key(), "oci://r/x:latest#m");
    }

    #[test]
    fn a_source_not_vendored_says_what_to_run() {
        let src = source_of(&repo(json!({"url": "oci://r/x"})), "o").expect("ok");
        let dir = tempfile::tempdir().expect("tmp");
        let v = Vendored {
            lock: Lock::default(),
            cache_dir: dir.path().to_path_buf(),
        };
        let e = content(&src, Some(&v)).unwrap_err();
        assert!(
            e.contains("oci://r/x:latest is not pinned in ferry.lock"),
            "{e}"
        );
        assert!(e.contains("hint: run `ferry vendor --flux`"), "{e}");
    }
}
