//! Sigstore bundles as OCI 1.1 referrers, the way cosign v3 stores them: a manifest whose
//! `subject` is the signed artifact, `artifactType` the bundle media type, the empty config and
//! the bundle as its one layer. Registries with the referrers API list it by themselves; for the
//! others (CNCF distribution 2.x among them) ferry keeps the referrers tag schema's index,
//! `sha256-<hex>`, up to date. Reading is bounded: a hostile registry can list any number of
//! referrers, but only a few bundles are fetched, each small, and no referrer's own referrers
//! are ever followed, so a loop costs nothing.

use super::media_types as mt;
use super::oci::{Registry, RegistryError};
use super::oci_json::{descriptor, digest_of};
use super::reference::ArtifactRef;
use super::sign::bundle::{self, BundleError, VerifiedBundle};
use p256::ecdsa::VerifyingKey;
use serde::Deserialize;
use serde_json::{json, Value};

/// The empty config blob of an artifact manifest.
pub const EMPTY_CONFIG: &[u8] = b"{}";
/// Bundles fetched at most per verification; the rest of a long list is not read.
pub const MAX_BUNDLES: usize = 16;
/// A referrer manifest is well under a kilobyte; a bundle a few (a keyless one with its
/// certificate chain and log entries under 16 KiB).
const MAX_REFERRER_MANIFEST: u64 = 64 << 10;
const MAX_BUNDLE: u64 = 1 << 20;

/// The referrers tag schema's tag for `digest`: `sha256-<hex>`.
pub fn tag_schema_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

/// The referrer manifest carrying `bundle` for the manifest `subject_digest` of
/// `subject_size` bytes. No creation time: the same bundle gives the same manifest.
pub fn bundle_manifest(bundle: &[u8], subject_digest: &str, subject_size: usize) -> Vec<u8> {
    let mut layer = descriptor(mt::SIGSTORE_BUNDLE_V03, bundle);
    let title = format!("{}.sigstore.json", tag_schema_tag(&digest_of(bundle)));
    layer["annotations"] = json!({ mt::ANNOTATION_TITLE: title });
    let m = json!({
        "schemaVersion": 2,
        "mediaType": mt::OCI_MANIFEST,
        "artifactType": mt::SIGSTORE_BUNDLE_V03,
        "config": descriptor(mt::OCI_EMPTY, EMPTY_CONFIG),
        "layers": [layer],
        "subject": {"mediaType": mt::OCI_MANIFEST, "digest": subject_digest, "size": subject_size},
        "annotations": annotations(),
    });
    serde_json::to_vec(&m).expect("manifest serialises")
}

fn annotations() -> Value {
    json!({
        mt::ANNOTATION_BUNDLE_CONTENT: "dsse-envelope",
        mt::ANNOTATION_BUNDLE_PREDICATE: mt::COSIGN_SIGN_PREDICATE,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("the referrers tag {tag} holds something that is not an OCI image index ({message})\nhint: it is not ferry's; delete it, or push with --signature-format v2")]
    BadIndex { tag: String, message: String },
}

/// Stores `bundle` as a referrer of `subject_digest` in `target`'s repository; returns the
/// referrer's reference. Listed by the referrers API where the registry has one, else added to
/// the tag schema's index (keeping the referrers already there).
///
/// # Errors
/// The registry's errors; a referrers tag that is not an index.
pub fn attach_bundle(
    reg: &Registry,
    target: &ArtifactRef,
    subject_digest: &str,
    subject_size: usize,
    bundle: &[u8],
) -> Result<String, AttachError> {
    reg.push_blob(target, EMPTY_CONFIG)?;
    reg.push_blob(target, bundle)?;
    let manifest = bundle_manifest(bundle, subject_digest, subject_size);
    let referrer = target.with_digest(&digest_of(&manifest));
    reg.push_manifest(&referrer, &manifest, mt::OCI_MANIFEST)?;
    let subject = target.with_digest(subject_digest);
    let digest = digest_of(&manifest);
    // Listed already: the registry's referrers API did it, or an earlier push did.
    if reg.referrers(&subject)?.iter().any(|e| e.digest == digest) {
        return Ok(referrer.to_string());
    }
    let tag = tag_schema_tag(subject_digest);
    let index_ref = target.with_tag(&tag);
    let mut index: Value = match reg.index(&index_ref) {
        Ok((bytes, _)) => parse_index(&bytes).map_err(|message| AttachError::BadIndex {
            tag: tag.clone(),
            message,
        })?,
        Err(RegistryError::NotFound { .. }) => {
            json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": []})
        }
        Err(e) => return Err(e.into()),
    };
    let mut entry = descriptor(mt::OCI_MANIFEST, &manifest);
    entry["artifactType"] = mt::SIGSTORE_BUNDLE_V03.into();
    entry["annotations"] = annotations();
    index["manifests"]
        .as_array_mut()
        .expect("checked by parse_index")
        .push(entry);
    let bytes = serde_json::to_vec(&index).expect("index serialises");
    reg.push_manifest(&index_ref, &bytes, mt::OCI_INDEX)?;
    Ok(referrer.to_string())
}

/// An index read back, kept as JSON so entries ferry does not know survive the rewrite.
fn parse_index(bytes: &[u8]) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if v.get("manifests").and_then(Value::as_array).is_none() {
        return Err("no manifests list".into());
    }
    match v.get("mediaType").and_then(Value::as_str) {
        None | Some(mt::OCI_INDEX) => Ok(v),
        Some(other) => Err(format!("media type {other}")),
    }
}

/// Why one referrer was not accepted as a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `sha256:...` of the referrer manifest.
    pub referrer: String,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bundle referrer {}: {}", self.referrer, self.reason)
    }
}

/// What the referrers of an artifact said about its signature.
#[derive(Debug, Default)]
pub struct BundleCheck {
    /// The first bundle that verified.
    pub verified: Option<(String, VerifiedBundle)>,
    /// Each bundle referrer that was read and refused, with why.
    pub refused: Vec<Refusal>,
    /// Bundle referrers listed past [`MAX_BUNDLES`], not read.
    pub skipped: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferrerManifest {
    #[serde(default)]
    artifact_type: Option<String>,
    config: Option<super::oci_json::Descriptor>,
    #[serde(default)]
    layers: Vec<super::oci_json::Descriptor>,
    subject: Option<super::oci_json::Descriptor>,
}

/// Looks for a Sigstore bundle among the referrers of `pinned` (at `digest`) that verifies with
/// one of `keys`. Stops at the first that does; reads at most [`MAX_BUNDLES`].
///
/// # Errors
/// Only the registry's errors; every refused bundle is in [`BundleCheck::refused`].
pub fn check_bundles(
    reg: &Registry,
    pinned: &ArtifactRef,
    digest: &str,
    keys: &[VerifyingKey],
) -> Result<BundleCheck, RegistryError> {
    let entries = reg.referrers(pinned)?;
    let mut out = BundleCheck::default();
    let candidates = entries
        .iter()
        .filter(|e| e.artifact_type.as_deref() == Some(mt::SIGSTORE_BUNDLE_V03));
    for (n, e) in candidates.enumerate() {
        if n >= MAX_BUNDLES {
            out.skipped += 1;
            continue;
        }
        match check_one(reg, pinned, digest, keys, e) {
            Ok(v) => {
                out.verified = Some((e.digest.clone(), v));
                return Ok(out);
            }
            Err(Checked::Refused(reason)) => out.refused.push(Refusal {
                referrer: e.digest.clone(),
                reason,
            }),
            Err(Checked::Registry(err)) => return Err(err),
        }
    }
    Ok(out)
}

enum Checked {
    Refused(String),
    Registry(RegistryError),
}

impl From<BundleError> for Checked {
    fn from(e: BundleError) -> Checked {
        Checked::Refused(e.to_string())
    }
}

fn check_one(
    reg: &Registry,
    pinned: &ArtifactRef,
    digest: &str,
    keys: &[VerifyingKey],
    e: &oci_client::manifest::ImageIndexEntry,
) -> Result<VerifiedBundle, Checked> {
    let refused = |s: String| Err(Checked::Refused(s));
    if e.media_type != mt::OCI_MANIFEST {
        return refused(format!("listed as {}, not an image manifest", e.media_type));
    }
    if e.size < 0 || e.size as u64 > MAX_REFERRER_MANIFEST {
        return refused(format!(
            "its manifest is listed as {} bytes, over the {MAX_REFERRER_MANIFEST} a bundle referrer needs",
            e.size
        ));
    }
    let registry_or_refused = |err: RegistryError| match err {
        RegistryError::NotFound { .. }
        | RegistryError::DigestMismatch { .. }
        | RegistryError::ContentMismatch { .. }
        | RegistryError::TooLarge { .. } => Checked::Refused(err.to_string()),
        other => Checked::Registry(other),
    };
    let (bytes, _) = reg
        .manifest(&pinned.with_digest(&e.digest))
        .map_err(registry_or_refused)?;
    let m: ReferrerManifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(err) => return refused(format!("not an OCI manifest: {err}")),
    };
    // The listing is the registry's word (or anyone's, under the tag schema): the manifest's
    // own subject is what binds it to this artifact.
    match &m.subject {
        Some(s) if s.digest == digest => {}
        Some(s) => {
            return refused(format!(
                "its subject is {}, not {digest}: a referrer of another artifact",
                s.digest
            ))
        }
        None => return refused("it has no subject: not a referrer of this artifact".into()),
    }
    let artifact_type = m
        .artifact_type
        .as_deref()
        .or(m.config.as_ref().map(|c| c.media_type.as_str()));
    if artifact_type != Some(mt::SIGSTORE_BUNDLE_V03) {
        return refused(format!(
            "its artifactType is {artifact_type:?}, not a Sigstore bundle"
        ));
    }
    let layer = match m.layers.as_slice() {
        [l] if l.media_type == mt::SIGSTORE_BUNDLE_V03 => l,
        _ => return refused("it does not hold exactly one bundle layer".into()),
    };
    let blob = reg
        .blob(pinned, &layer.digest, layer.size, MAX_BUNDLE)
        .map_err(registry_or_refused)?;
    Ok(bundle::verify(
        &blob,
        keys,
        &pinned.repository_name(),
        digest,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_manifest_shape() {
        let m = bundle_manifest(b"{\"b\":1}", "sha256:abcd", 42);
        let v: Value = serde_json::from_slice(&m).expect("json");
        assert_eq!(v["artifactType"], mt::SIGSTORE_BUNDLE_V03);
        assert_eq!(
            v["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(v["config"]["size"], 2);
        assert_eq!(v["subject"]["digest"], "sha256:abcd");
        assert_eq!(v["subject"]["size"], 42);
        assert_eq!(v["layers"][0]["mediaType"], mt::SIGSTORE_BUNDLE_V03);
        assert!(v["layers"][0]["annotations"][mt::ANNOTATION_TITLE]
            .as_str()
            .expect("title")
            .ends_with(".sigstore.json"));
        assert_eq!(m, bundle_manifest(b"{\"b\":1}", "sha256:abcd", 42));
        assert_eq!(tag_schema_tag("sha256:abcd"), "sha256-abcd");
    }

    #[test]
    fn index_parse_keeps_unknown_entries_and_refuses_non_indexes() {
        let v = parse_index(br#"{"schemaVersion":2,"manifests":[{"x":1}]}"#).expect("index");
        assert_eq!(v["manifests"][0]["x"], 1);
        assert!(parse_index(br#"{"schemaVersion":2,"layers":[]}"#).is_err());
        assert!(parse_index(
            br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}"#
        )
        .is_err());
        assert!(parse_index(b"nope").is_err());
    }
}
