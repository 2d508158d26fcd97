//! `push`: package an environment directory, upload what the registry lacks, write the manifest
//! by digest, sign it, and only then move the tags, so no tag ever names a partial or unsigned
//! artifact.

use super::media_types as mt;
use super::oci::{Registry, RegistryError, RegistryOptions};
use super::oci_json::{digest_of, flux_config, flux_manifest, Manifest, Provenance};
use super::reference::ArtifactRef;
use super::referrers::{self, AttachError};
use super::sign::{self, signature_tag, SignatureEntry, SignatureFormat};
use super::tarball::{pack_dir, PackError};
use p256::ecdsa::SigningKey;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("the existing signature manifest {tag} is unreadable: {message}\nhint: delete the tag and push again")]
    BadSignatureManifest { tag: String, message: String },
    #[error(transparent)]
    Attach(#[from] AttachError),
}

/// An artifact ready to push: every byte already decided.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
    pub layer: Vec<u8>,
    /// `sha256:<hex>` of the manifest.
    pub digest: String,
    pub files: usize,
}

/// Packs `env_dir` into an artifact described by `provenance`.
///
/// # Errors
/// Anything [`pack_dir`] refuses.
pub fn prepare(env_dir: &Path, provenance: &Provenance) -> Result<Prepared, PackError> {
    let packed = pack_dir(env_dir)?;
    let config = flux_config(provenance.created.as_deref(), &packed.tar_digest);
    let manifest = flux_manifest(&config, &packed.gz, provenance);
    let digest = digest_of(&manifest);
    Ok(Prepared {
        manifest,
        config,
        layer: packed.gz,
        digest,
        files: packed.files,
    })
}

/// What to do besides uploading.
#[derive(Default)]
pub struct PushOptions {
    /// Tags to point at the artifact once it is complete (and signed).
    pub tags: Vec<String>,
    /// Sign with this key (cosign's format).
    pub signing_key: Option<SigningKey>,
    /// Which signatures to write when signing.
    pub signature_format: SignatureFormat,
    pub registry: RegistryOptions,
}

/// What a push did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushReport {
    /// `host/repo@sha256:...`: what to pin.
    pub reference: String,
    pub digest: String,
    pub tags: Vec<String>,
    /// The signature tag, when signed in the v2 format.
    pub signature: Option<String>,
    /// The Sigstore bundle referrer (`repo@sha256:...`), when signed in the bundle format.
    pub bundle: Option<String>,
    pub uploaded_blobs: usize,
    pub skipped_blobs: usize,
    pub layer_bytes: usize,
    pub files: usize,
}

/// Pushes a prepared artifact to `target`'s repository.
///
/// # Errors
/// Offline, unreachable or refusing registry (after retries), unreadable signature manifest.
pub fn push_prepared(
    target: &ArtifactRef,
    p: &Prepared,
    opts: &PushOptions,
) -> Result<PushReport, PushError> {
    let reg = Registry::connect(target, "ferry push", &opts.registry)?;
    let mut uploaded = 0;
    for blob in [&p.layer, &p.config] {
        uploaded += usize::from(reg.push_blob(target, blob)?);
    }
    // By digest first: a tag is only moved once everything it names is in place.
    let pinned = target.with_digest(&p.digest);
    reg.push_manifest(&pinned, &p.manifest, mt::OCI_MANIFEST)?;
    let (signature, bundle) = match &opts.signing_key {
        Some(key) => sign_pushed(
            &reg,
            target,
            (&p.digest, p.manifest.len()),
            key,
            opts.signature_format,
        )?,
        None => (None, None),
    };
    for tag in &opts.tags {
        reg.push_manifest(&target.with_tag(tag), &p.manifest, mt::OCI_MANIFEST)?;
    }
    Ok(PushReport {
        reference: pinned.to_string(),
        digest: p.digest.clone(),
        tags: opts.tags.clone(),
        signature,
        bundle,
        uploaded_blobs: uploaded,
        skipped_blobs: 2 - uploaded,
        layer_bytes: p.layer.len(),
        files: p.files,
    })
}

/// Signs the manifest `digest` (of `size` bytes) already in `target`'s repository in the
/// formats asked for; the `.sig` tag and the bundle referrer written.
///
/// # Errors
/// The registry's errors, an unreadable signature manifest or referrers index.
pub fn sign_pushed(
    reg: &Registry,
    target: &ArtifactRef,
    (digest, size): (&str, usize),
    key: &SigningKey,
    format: sign::SignatureFormat,
) -> Result<(Option<String>, Option<String>), PushError> {
    let mut signature = None;
    let mut bundle = None;
    if format.v2() {
        signature = Some(push_signature(reg, target, digest, key)?);
    }
    if format.bundle() {
        let b = sign::bundle::sign_image(key, &target.repository_name(), digest);
        bundle = Some(referrers::attach_bundle(reg, target, digest, size, &b)?);
    }
    Ok((signature, bundle))
}

/// Packs and pushes `env_dir`: the one call a benchmark or another tool needs.
pub fn push_dir(
    env_dir: &Path,
    target: &ArtifactRef,
    provenance: &Provenance,
    opts: &PushOptions,
) -> Result<PushReport, PushError> {
    let prepared = prepare(env_dir, provenance)?;
    push_prepared(target, &prepared, opts)
}

/// Adds a cosign signature for `digest` to its `.sig` tag, keeping signatures already there.
fn push_signature(
    reg: &Registry,
    target: &ArtifactRef,
    digest: &str,
    key: &SigningKey,
) -> Result<String, PushError> {
    let tag = signature_tag(digest);
    let sig_ref = target.with_tag(&tag);
    let payload = sign::payload::simple_signing(&target.repository_name(), digest);
    let entry = SignatureEntry::new(&payload, sign::sign(key, &payload));
    let mut entries = match reg.manifest(&sig_ref) {
        Ok((bytes, _)) => {
            existing_entries(&bytes).map_err(|message| PushError::BadSignatureManifest {
                tag: tag.clone(),
                message,
            })?
        }
        Err(RegistryError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    // RFC 6979 signatures are deterministic: the same artifact signed again is already there.
    if entries.contains(&entry) {
        return Ok(sig_ref.to_string());
    }
    entries.push(entry);
    let (manifest, config) = sign::payload::signature_manifest(&entries);
    reg.push_blob(target, &payload)?;
    reg.push_blob(target, &config)?;
    reg.push_manifest(&sig_ref, &manifest, mt::OCI_MANIFEST)?;
    Ok(sig_ref.to_string())
}

/// The signatures a `.sig` manifest already holds.
pub(crate) fn existing_entries(bytes: &[u8]) -> Result<Vec<SignatureEntry>, String> {
    let m = Manifest::parse(bytes)?;
    Ok(m.layers
        .iter()
        .filter(|l| l.media_type == mt::COSIGN_SIMPLESIGNING)
        .filter_map(|l| {
            let sig = l.annotations.get(mt::COSIGN_SIGNATURE_ANNOTATION)?;
            Some(SignatureEntry {
                payload_digest: l.digest.clone(),
                payload_size: l.size,
                signature_b64: sig.clone(),
            })
        })
        .collect())
}
