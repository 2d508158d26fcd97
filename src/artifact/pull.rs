//! `pull` and `verify`: resolve the reference to a digest once, check the cosign signature and
//! every digest, and only then hand out the layer (or unpack it).

use super::media_types as mt;
use super::oci::{Registry, RegistryError, RegistryOptions};
use super::oci_json::{Manifest, Provenance};
use super::push::existing_entries;
use super::reference::ArtifactRef;
use super::referrers::{self, BundleCheck, MAX_BUNDLES};
use super::sign::{self, signature_tag, PayloadError};
use super::tarball::{unpack, UnpackError, UnpackLimits, Unpacked};
use p256::ecdsa::VerifyingKey;
use serde::Serialize;
use std::path::Path;

/// A signature payload is a few hundred bytes; anything big is not one.
const MAX_PAYLOAD: u64 = 64 << 10;
const MAX_CONFIG: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{reference} has no cosign signature (no Sigstore bundle among its referrers, no tag {tag})\nhint: push with --key, or pass --insecure-skip-verify to accept an unsigned artifact")]
    Unsigned { reference: String, tag: String },
    #[error("no signature on {reference} is accepted:\n{reasons}")]
    Refused { reference: String, reasons: String },
    #[error("no signature on {reference} verifies with the given key(s) ({checked} signature(s) checked)")]
    BadSignature { reference: String, checked: usize },
    #[error("{reference}: a valid signature, but {source}")]
    Payload {
        reference: String,
        #[source]
        source: PayloadError,
    },
    #[error("{reference}: {message}")]
    NotFlux { reference: String, message: String },
    #[error("no public key to verify {reference} with\nhint: pass --key cosign.pub, or --insecure-skip-verify to accept it unverified")]
    NoKey { reference: String },
    #[error(transparent)]
    Unpack(#[from] UnpackError),
}

/// How to check an artifact.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Any of these keys may have signed it.
    pub keys: Vec<VerifyingKey>,
    /// Accept an unsigned artifact: must be asked for explicitly.
    pub insecure_skip_verify: bool,
    pub limits: UnpackLimits,
    pub registry: RegistryOptions,
}

/// An artifact whose signature and digests checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The repository at the digest that was verified.
    pub reference: ArtifactRef,
    pub digest: String,
    pub manifest: Manifest,
    /// The content layer (gzip'd tar), its digest checked.
    pub layer: Vec<u8>,
    /// Whether a signature was verified (false only with `insecure_skip_verify`).
    pub signed: bool,
    /// The format of the signature that verified: `bundle` or `v2`.
    pub signature_format: Option<&'static str>,
}

/// What `verify` and `pull` report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub reference: String,
    pub digest: String,
    pub signed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_format: Option<&'static str>,
    pub source: Option<String>,
    pub revision: Option<String>,
    pub created: Option<String>,
    pub layer_bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<usize>,
}

impl Verified {
    pub fn report(&self, unpacked: Option<&Unpacked>) -> VerifyReport {
        let Provenance {
            source,
            revision,
            created,
        } = self.manifest.provenance();
        VerifyReport {
            reference: self.reference.to_string(),
            digest: self.digest.clone(),
            signed: self.signed,
            signature_format: self.signature_format,
            source,
            revision,
            created,
            layer_bytes: self.layer.len(),
            files: unpacked.map(|u| u.files),
        }
    }
}

/// Accepts the artifact when any signature about this digest verifies with one of `keys`: a
/// Sigstore bundle among its referrers first (cosign v3), else the `.sig` tag (cosign v2).
/// Returns the format that verified. A refused bundle does not hide a valid v2 signature, but
/// when nothing verifies the error lists why each one was refused.
pub fn check_signature(
    reg: &Registry,
    pinned: &ArtifactRef,
    digest: &str,
    keys: &[VerifyingKey],
) -> Result<&'static str, VerifyError> {
    let bundles: BundleCheck = referrers::check_bundles(reg, pinned, digest, keys)?;
    if bundles.verified.is_some() {
        return Ok("bundle");
    }
    let v2 = check_v2_signature(reg, pinned, digest, keys);
    if bundles.refused.is_empty() {
        return v2.map(|()| "v2");
    }
    let mut reasons: Vec<String> = bundles.refused.iter().map(|r| format!("  {r}")).collect();
    if bundles.skipped > 0 {
        reasons.push(format!(
            "  {} more bundle referrer(s) not read (only the first {MAX_BUNDLES} are)",
            bundles.skipped
        ));
    }
    match v2 {
        Ok(()) => return Ok("v2"),
        Err(VerifyError::Unsigned { tag, .. }) => {
            reasons.push(format!("  no v2 signature (no tag {tag})"));
        }
        Err(VerifyError::Registry(e)) => return Err(VerifyError::Registry(e)),
        Err(e) => reasons.push(format!("  v2 signature: {e}")),
    }
    Err(VerifyError::Refused {
        reference: pinned.to_string(),
        reasons: reasons.join("\n"),
    })
}

fn check_v2_signature(
    reg: &Registry,
    pinned: &ArtifactRef,
    digest: &str,
    keys: &[VerifyingKey],
) -> Result<(), VerifyError> {
    let reference = pinned.to_string();
    let tag = signature_tag(digest);
    let (bytes, _) = match reg.manifest(&pinned.with_tag(&tag)) {
        Ok(m) => m,
        Err(RegistryError::NotFound { .. }) => {
            return Err(VerifyError::Unsigned { reference, tag })
        }
        Err(e) => return Err(e.into()),
    };
    let entries = existing_entries(&bytes).map_err(|message| VerifyError::NotFlux {
        reference: reference.clone(),
        message,
    })?;
    if entries.is_empty() {
        return Err(VerifyError::Unsigned { reference, tag });
    }
    let mut last_payload_error = None;
    for e in &entries {
        let payload = reg.blob(pinned, &e.payload_digest, e.payload_size, MAX_PAYLOAD)?;
        if !keys
            .iter()
            .any(|k| sign::verify(k, &payload, &e.signature_b64))
        {
            continue;
        }
        match sign::payload::check(&payload, &pinned.repository_name(), digest) {
            Ok(()) => return Ok(()),
            Err(p) => last_payload_error = Some(p),
        }
    }
    match last_payload_error {
        Some(source) => Err(VerifyError::Payload { reference, source }),
        None => Err(VerifyError::BadSignature {
            reference,
            checked: entries.len(),
        }),
    }
}

/// Resolves `r` to a digest (once), verifies the signature against `opts.keys` and the
/// manifest, config and layer digests. Nothing is written anywhere.
///
/// # Errors
/// Any failed check; the registry's errors.
pub fn fetch_verified(r: &ArtifactRef, opts: &VerifyOptions) -> Result<Verified, VerifyError> {
    if opts.keys.is_empty() && !opts.insecure_skip_verify {
        return Err(VerifyError::NoKey {
            reference: r.to_string(),
        });
    }
    let reg = Registry::connect(r, "fetching an artifact", &opts.registry)?;
    // The one resolution of tag to digest: everything after this reads by digest.
    let (bytes, digest) = reg.manifest(r)?;
    let pinned = r.with_digest(&digest);
    let reference = pinned.to_string();
    let signature_format = if opts.insecure_skip_verify {
        None
    } else {
        Some(check_signature(&reg, &pinned, &digest, &opts.keys)?)
    };
    let not_flux = |message: String| VerifyError::NotFlux {
        reference: reference.clone(),
        message,
    };
    let manifest = Manifest::parse(&bytes).map_err(not_flux)?;
    if manifest.config.media_type != mt::FLUX_CONFIG {
        return Err(not_flux(format!(
            "config media type is {}, not {} (not a Flux artifact)",
            manifest.config.media_type,
            mt::FLUX_CONFIG
        )));
    }
    let layer = manifest
        .flux_layer()
        .ok_or_else(|| not_flux(format!("no layer of media type {}", mt::FLUX_CONTENT)))?
        .clone();
    reg.blob(
        &pinned,
        &manifest.config.digest,
        manifest.config.size,
        MAX_CONFIG,
    )?;
    let data = reg.blob(
        &pinned,
        &layer.digest,
        layer.size,
        opts.limits.max_total_size,
    )?;
    Ok(Verified {
        reference: pinned,
        digest,
        manifest,
        layer: data,
        signed: !opts.insecure_skip_verify,
        signature_format,
    })
}

/// The digest `r` names now: `r`'s own digest, or the registry's answer to a manifest HEAD for
/// its tag. Nothing is verified here; pull by the digest to get checked content.
///
/// # Errors
/// Offline, or the registry cannot be reached or does not know the tag.
pub fn resolve_digest(r: &ArtifactRef, opts: &RegistryOptions) -> Result<String, RegistryError> {
    if let Some(d) = &r.digest {
        return Ok(d.clone());
    }
    Registry::connect(r, "resolving the artifact's tag", opts)?.manifest_digest(r)
}

/// Verifies `r` and unpacks its content layer into `dest` (which must not exist or be empty).
/// Nothing is written to `dest` unless every check passed.
pub fn pull(
    r: &ArtifactRef,
    dest: &Path,
    opts: &VerifyOptions,
) -> Result<(Verified, Unpacked), VerifyError> {
    let verified = fetch_verified(r, opts)?;
    let unpacked = unpack(verified.layer.as_slice(), dest, &opts.limits)?;
    Ok((verified, unpacked))
}
