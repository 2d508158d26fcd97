//! Flux OCIRepository sources of Kustomizations: the artifact `ferry push` (or `flux push
//! artifact`) writes, a tar+gzip layer of manifests. `ferry vendor --flux` pulls it through
//! ferry's registry client, pins its manifest and layer digests in `ferry.lock`, and unpacks
//! the layer with the safe unpacker into the cache, where `ferry build --flux` reads it offline.

use super::oci_verify::{self, FlagKeys, KeyedVerify};
use super::{Lock, LockedArtifact, VendorError, LOCK_FILE};
use crate::artifact::oci::Registry;
use crate::artifact::oci_json::Manifest;
use crate::artifact::tarball::{unpack, UnpackLimits};
use crate::artifact::{auth, ArtifactRef, RegistryOptions};
use std::path::{Path, PathBuf};

/// A layer larger than this is not a source artifact.
const MAX_LAYER: u64 = 512 << 20;

/// Which artifact of the repository an OCIRepository follows (`spec.ref`, in Flux's order of
/// precedence: digest, then semver, then tag; `latest` when unset).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum OciRef {
    Digest(String),
    Semver(String),
    Tag(String),
}

/// An OCIRepository as `ferry vendor` and `ferry build` read it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OciSource {
    /// `oci://host/repository`.
    pub url: String,
    pub reference: OciRef,
    /// `spec.layerSelector.mediaType`: the first layer of that type; none: the first layer.
    pub media_type: Option<String>,
    /// `spec.ref.semverFilter`: with a semver range, only tags this regular expression
    /// matches (anywhere in the tag, as Go's `MatchString`) are candidates.
    pub semver_filter: Option<String>,
    /// `spec.verify` with a key Secret: the digest must be signed by one of its keys.
    pub verify: Option<KeyedVerify>,
}

impl OciSource {
    /// Its key in `ferry.lock` (`artifacts`).
    pub fn lock_key(&self) -> String {
        let base = match &self.reference {
            OciRef::Digest(d) => format!("{}@{d}", self.url),
            OciRef::Semver(r) => match &self.semver_filter {
                Some(f) => format!("{}:semver {r} filter {f}", self.url),
                None => format!("{}:semver {r}", self.url),
            },
            OciRef::Tag(t) => format!("{}:{t}", self.url),
        };
        match &self.media_type {
            Some(m) => format!("{base}#{m}"),
            None => base,
        }
    }
}

/// The unpacked content of a pinned layer.
pub fn content_dir(cache_dir: &Path, layer: &str) -> PathBuf {
    cache_dir.join("flux-sources").join(layer.replace(':', "-"))
}

/// The unpacked content `lock` pins for `src` and the manifest digest pinned, or why it is
/// not there.
pub fn locate(src: &OciSource, lock: &Lock, cache_dir: &Path) -> Result<(PathBuf, String), String> {
    let key = src.lock_key();
    let pinned = lock
        .artifacts
        .get(&key)
        .ok_or_else(|| format!("the artifact {key} is not pinned in {LOCK_FILE}"))?;
    let dir = content_dir(cache_dir, &pinned.layer);
    if dir.is_dir() {
        Ok((dir, pinned.digest.clone()))
    } else {
        Err(format!(
            "the artifact {key} ({}) is not in the cache at {}",
            pinned.digest,
            cache_dir.display()
        ))
    }
}

/// A client for `r`'s registry with Docker's credentials for it.
pub(super) fn connect(r: &ArtifactRef, why: &str) -> Result<Registry, String> {
    let credentials = auth::resolve(None, &r.registry).map_err(|e| e.to_string())?;
    let opts = RegistryOptions {
        credentials,
        ..RegistryOptions::default()
    };
    Registry::connect(r, why, &opts).map_err(|e| e.to_string())
}

/// The tag `src` follows now: a range resolved against the repository's tags, after
/// `spec.ref.semverFilter` kept only those it matches (source-controller filters the raw tags
/// first, then picks the highest version in the range).
fn tag_of(src: &OciSource, lock: &Lock, update: bool) -> Result<Option<String>, String> {
    match &src.reference {
        OciRef::Digest(_) => Ok(None),
        OciRef::Tag(t) => Ok(Some(t.clone())),
        OciRef::Semver(range) => {
            if let (Some(p), false) = (lock.artifacts.get(&src.lock_key()), update) {
                if let Some(v) = &p.version {
                    return Ok(Some(v.clone()));
                }
            }
            let chart = crate::config::ChartRef::Oci {
                url: src.url.clone(),
                version: range.clone(),
            };
            let filter = src.semver_filter.as_deref();
            super::range::resolve(&chart, &Default::default(), filter).map(Some)
        }
    }
}

/// Pulls `src` (unless the lock's pin is already unpacked in the cache), unpacks it, and
/// pins it in `lock`. Returns whether it was fetched.
pub fn vendor(
    src: &OciSource,
    lock: &mut Lock,
    cache_dir: &Path,
    (update, offline): (bool, bool),
    flags: &FlagKeys,
) -> Result<bool, VendorError> {
    let key = src.lock_key();
    if !update {
        if let Ok((_, digest)) = locate(src, lock, cache_dir) {
            let Some(v) = &src.verify else {
                return Ok(false);
            };
            let by = &lock.artifacts[&key].verified_by;
            match oci_verify::satisfied(v, &digest, by) {
                Ok(()) => return Ok(false),
                Err(e) if offline => return Err(VendorError::Verify(e)),
                Err(_) => {}
            }
        }
    }
    if offline {
        return Err(VendorError::Offline);
    }
    // Before any network access: a key must be at hand.
    let keys = match &src.verify {
        Some(v) => Some((
            v,
            oci_verify::keys_for(v, flags).map_err(VendorError::Verify)?,
        )),
        None => None,
    };
    let fail = |message: String| VendorError::Fetch {
        chart: key.clone(),
        message,
    };
    let version = tag_of(src, lock, update).map_err(fail)?;
    let reference = match (&src.reference, &version) {
        (OciRef::Digest(d), _) => format!("{}@{d}", src.url),
        (_, Some(t)) => format!("{}:{t}", src.url),
        (_, None) => src.url.clone(),
    };
    let r = ArtifactRef::parse(&reference).map_err(|e| fail(e.to_string()))?;
    let registry = connect(&r, "fetching a Flux source").map_err(fail)?;
    let (bytes, digest) = registry.manifest(&r).map_err(|e| fail(e.to_string()))?;
    let manifest = Manifest::parse(&bytes).map_err(fail)?;
    let layer = match &src.media_type {
        Some(m) => manifest.layers.iter().find(|l| &l.media_type == m),
        None => manifest.layers.first(),
    }
    .ok_or_else(|| {
        fail(match &src.media_type {
            Some(m) => {
                format!("{reference} has no layer of media type {m} (spec.layerSelector.mediaType)")
            }
            None => format!("{reference} has no layers"),
        })
    })?;
    if let Some(p) = lock.artifacts.get(&key) {
        if p.digest != digest && !update {
            return Err(VendorError::Changed {
                chart: key,
                pinned: p.digest.clone(),
                fetched: digest,
            });
        }
    }
    // Verified before anything is unpacked or pinned: a refused artifact leaves no trace.
    let mut verified_by = Vec::new();
    if let Some((v, keys)) = &keys {
        let pinned = r.with_digest(&digest);
        let fp = oci_verify::verify(&registry, &pinned, &digest, keys, v)
            .map_err(VendorError::Verify)?;
        if let Some(p) = lock.artifacts.get(&key).filter(|p| p.digest == digest) {
            // Another OCIRepository with the same reference may have verified it by its key.
            verified_by.clone_from(&p.verified_by);
        }
        if !verified_by.contains(&fp) {
            verified_by.push(fp);
        }
        verified_by.sort();
    }
    let blob = registry
        .blob(&r, &layer.digest, layer.size, MAX_LAYER)
        .map_err(|e| fail(e.to_string()))?;
    let dir = content_dir(cache_dir, &layer.digest);
    if !dir.is_dir() {
        std::fs::create_dir_all(dir.parent().unwrap_or(cache_dir))
            .map_err(|e| VendorError::Io(format!("{}: {e}", dir.display())))?;
        // Unpacked beside the cache and renamed into place: never a half-written source.
        unpack(blob.as_slice(), &dir, &UnpackLimits::default()).map_err(|e| {
            fail(format!(
                "layer {} ({}) is not a safe tar+gzip archive: {e}",
                layer.digest, layer.media_type
            ))
        })?;
    }
    let version = matches!(src.reference, OciRef::Semver(_))
        .then_some(version)
        .flatten();
    lock.artifacts.insert(
        key,
        LockedArtifact {
            digest,
            layer: layer.digest.clone(),
            version,
            verified_by,
        },
    );
    Ok(true)
}
