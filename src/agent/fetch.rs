//! Getting a sync's artifact: the tag resolved to a digest with a manifest HEAD, then, only when
//! that digest is new, pulled by digest, verified, read and its sealed Secrets opened in memory.
//!
//! The registry client is blocking (it runs its own runtime), so each call runs on tokio's
//! blocking pool and never holds up another sync.

use crate::apply::source::{is_sealed, Decryptor};
use crate::apply::tenant_keys::open_platform;
use crate::apply::{ApplySource, Artifact, DirSource};
use crate::artifact::sign::keys::parse_public;
use crate::artifact::{self, ArtifactRef, RegistryOptions, UnpackLimits, VerifyOptions};
use crate::secrets::identity::Identities;
use crate::secrets::open::InMemory;
use std::path::Path;
use zeroize::Zeroizing;

/// What a pull needs besides the reference: the key material read from the Sync's Secrets.
pub struct Trust {
    /// The cosign public key (PEM); `None` only with `insecureSkipVerify`.
    pub public_key: Option<String>,
    /// The age identities' text; kept in memory only and wiped when dropped.
    pub identity: Option<Zeroizing<String>>,
    /// Where the key came from, for messages: `Secret ns/name key k`.
    pub key_source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Reference(String),
    #[error(transparent)]
    Registry(#[from] artifact::RegistryError),
    #[error("verifying {reference}: {message}; nothing was applied")]
    Verify { reference: String, message: String },
    #[error("{0}")]
    Key(String),
    #[error("{0}")]
    Source(#[from] crate::apply::SourceError),
    #[error("the blocking pool failed: {0}")]
    Join(String),
}

fn registry_options(insecure: bool) -> RegistryOptions {
    RegistryOptions {
        insecure,
        // A sync retries on its own schedule with backoff: fewer in-call retries.
        attempts: 2,
        ..RegistryOptions::new()
    }
}

/// One client per registry for every Sync's HEAD, kept for the process's life.
static REGISTRIES: std::sync::LazyLock<artifact::RegistryPool> =
    std::sync::LazyLock::new(artifact::RegistryPool::new);

/// The digest `reference` names now (a manifest HEAD for a tag).
pub async fn resolve(reference: &str, insecure: bool) -> Result<String, FetchError> {
    let r = ArtifactRef::parse(reference).map_err(|e| FetchError::Reference(e.to_string()))?;
    let opts = registry_options(insecure);
    tokio::task::spawn_blocking(move || REGISTRIES.resolve_digest(&r, &opts))
        .await
        .map_err(|e| FetchError::Join(e.to_string()))?
        .map_err(FetchError::from)
}

/// Pulls `reference` at `digest`, verifies it with `trust`, reads it, opens its sealed objects.
pub async fn fetch(
    reference: &str,
    digest: &str,
    insecure: bool,
    trust: Trust,
) -> Result<(Artifact, Option<String>), FetchError> {
    let r = ArtifactRef::parse(reference)
        .map_err(|e| FetchError::Reference(e.to_string()))?
        .with_digest(digest);
    let opts = registry_options(insecure);
    tokio::task::spawn_blocking(move || fetch_blocking(&r, opts, &trust))
        .await
        .map_err(|e| FetchError::Join(e.to_string()))?
}

fn fetch_blocking(
    r: &ArtifactRef,
    registry: RegistryOptions,
    trust: &Trust,
) -> Result<(Artifact, Option<String>), FetchError> {
    let keys = match &trust.public_key {
        Some(pem) => vec![parse_public(Path::new(&trust.key_source), pem)
            .map_err(|e| FetchError::Key(e.to_string()))?],
        None => Vec::new(),
    };
    let opts = VerifyOptions {
        insecure_skip_verify: keys.is_empty(),
        keys,
        limits: UnpackLimits::default(),
        registry,
    };
    // tempfile makes the directory 0700; it holds ciphertext only and is removed on return.
    let dir = tempfile::Builder::new()
        .prefix("ferry-agent-")
        .tempdir()
        .map_err(|e| FetchError::Key(format!("cannot create a temporary directory: {e}")))?;
    let content = dir.path().join("content");
    let (verified, _) = artifact::pull(r, &content, &opts).map_err(|e| match e {
        artifact::VerifyError::Registry(e) => FetchError::Registry(e),
        e => FetchError::Verify {
            reference: r.to_string(),
            message: e.to_string(),
        },
    })?;
    let mut a = DirSource { dir: content }.load()?;
    a.digest = verified.digest.clone();
    let provenance = verified.manifest.provenance();
    if let Some(rev) = provenance.revision {
        a.revision = Some(rev);
    }
    if a.objects.iter().any(is_sealed) {
        let ids = match &trust.identity {
            Some(text) => Some(InMemory::new(
                Identities::from_text(text, "the Sync's decryption Secret")
                    .map_err(|e| FetchError::Key(e.to_string()))?,
            )),
            None => None,
        };
        // Tenants' Secrets this identity does not open are opened at apply time with the
        // tenant's own identity (its `decryption.secretRef`, read as the tenant).
        a = open_platform(a, ids.as_ref().map(|i| i as &dyn Decryptor))?;
    }
    // `org.opencontainers.image.source`: where commit statuses go.
    Ok((a, provenance.source))
}
