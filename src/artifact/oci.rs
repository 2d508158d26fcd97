//! Talking to an OCI registry (through `oci-client`): blobs and manifests, with retries on
//! transient failures, plain HTTP only on loopback or when asked, and a hard refusal when
//! offline. Everything here is blocking: a current-thread tokio runtime lives inside.

use super::auth::Credentials;
use super::oci_json::digest_of;
use super::reference::ArtifactRef;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{ImageIndexEntry, OciDescriptor};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Media types a manifest is asked for in.
const MANIFEST_ACCEPT: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
const INDEX_ACCEPT: &str = "application/vnd.oci.image.index.v1+json";
/// A manifest larger than this is not an artifact of ours.
const MAX_MANIFEST: usize = 4 << 20;

/// How to reach a registry.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Refuse every network access.
    pub offline: bool,
    /// Plain HTTP even when the registry is not on loopback.
    pub insecure: bool,
    pub credentials: Option<Credentials>,
    /// Attempts for one request (1 = no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
}

impl Default for RegistryOptions {
    /// Online, TLS except on loopback, no credentials, 4 attempts from 250 ms.
    fn default() -> Self {
        RegistryOptions {
            offline: false,
            insecure: false,
            credentials: None,
            attempts: 4,
            backoff: Duration::from_millis(250),
        }
    }
}

impl RegistryOptions {
    pub fn new() -> RegistryOptions {
        RegistryOptions::default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{what} needs the network (registry {registry}), and ferry is offline (--offline or FERRY_OFFLINE)\nhint: drop --offline / unset FERRY_OFFLINE to reach the registry")]
    Offline { what: String, registry: String },
    #[error("{registry}: {what}: {message}")]
    Request {
        registry: String,
        what: String,
        message: String,
    },
    #[error("{registry}: {what}: not found")]
    NotFound { registry: String, what: String },
    #[error("{registry}: {what}: access denied\nhint: pass --creds USER:PASSWORD, set FERRY_REGISTRY_CREDS, or log in with `docker login {registry}`")]
    Unauthorized { registry: String, what: String },
    #[error("{registry}: {what}: the registry sent {actual}, not {expected}: refusing it")]
    DigestMismatch {
        registry: String,
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{registry}: {what}: the content does not match its digest ({message}): refusing it")]
    ContentMismatch {
        registry: String,
        what: String,
        message: String,
    },
    #[error("{registry}: {what}: larger than the limit of {limit} bytes")]
    TooLarge {
        registry: String,
        what: String,
        limit: u64,
    },
    #[error("cannot start the network runtime: {0}")]
    Runtime(String),
}

/// A connection to one registry.
pub struct Registry {
    client: Client,
    auth: RegistryAuth,
    runtime: tokio::runtime::Runtime,
    registry: String,
    opts: RegistryOptions,
}

fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RequestError(r) => {
            r.is_connect() || r.is_timeout() || r.is_request() || r.is_body()
        }
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::IoError(_) => true,
        _ => false,
    }
}

/// A writer into memory that refuses more than `limit` bytes: a registry cannot make us hold
/// more than the (signed) descriptor says.
struct LimitedBuf {
    buf: Vec<u8>,
    limit: usize,
}

impl tokio::io::AsyncWrite for LimitedBuf {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.buf.len() + data.len() > self.limit {
            return Poll::Ready(Err(std::io::Error::other(
                "blob larger than its descriptor says",
            )));
        }
        self.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Registry {
    /// Prepares a connection to `r.registry` (nothing is sent yet).
    ///
    /// # Errors
    /// Offline, or the runtime cannot start.
    pub fn connect(
        r: &ArtifactRef,
        what: &str,
        opts: &RegistryOptions,
    ) -> Result<Registry, RegistryError> {
        if opts.offline {
            return Err(RegistryError::Offline {
                what: what.to_string(),
                registry: r.registry.clone(),
            });
        }
        // rustls needs one process-wide crypto provider; a second install is a harmless no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if opts.insecure || r.is_loopback() {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| RegistryError::Runtime(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RegistryError::Runtime(e.to_string()))?;
        let auth = match &opts.credentials {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        };
        Ok(Registry {
            client,
            auth,
            runtime,
            registry: r.registry.clone(),
            opts: opts.clone(),
        })
    }

    fn error(&self, what: &str, e: OciDistributionError) -> RegistryError {
        let (registry, what) = (self.registry.clone(), what.to_string());
        match e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => {
                RegistryError::Unauthorized { registry, what }
            }
            OciDistributionError::ServerError {
                code: 401 | 403, ..
            } => RegistryError::Unauthorized { registry, what },
            OciDistributionError::RequestError(ref r)
                if matches!(r.status().map(|s| s.as_u16()), Some(401 | 403)) =>
            {
                RegistryError::Unauthorized { registry, what }
            }
            OciDistributionError::DigestError(ref d) => RegistryError::ContentMismatch {
                registry,
                what,
                message: d.to_string(),
            },
            OciDistributionError::RequestError(ref r)
                if r.status().map(|s| s.as_u16()) == Some(404) =>
            {
                RegistryError::NotFound { registry, what }
            }
            OciDistributionError::ImageManifestNotFoundError(_)
            | OciDistributionError::ServerError { code: 404, .. } => {
                RegistryError::NotFound { registry, what }
            }
            OciDistributionError::RegistryError { ref envelope, .. }
                if envelope.errors.iter().any(|x| {
                    matches!(
                        x.code,
                        oci_client::errors::OciErrorCode::Unauthorized
                            | oci_client::errors::OciErrorCode::Denied
                    )
                }) =>
            {
                RegistryError::Unauthorized { registry, what }
            }
            OciDistributionError::RegistryError { ref envelope, .. }
                if envelope.errors.iter().any(|x| {
                    matches!(
                        x.code,
                        oci_client::errors::OciErrorCode::ManifestUnknown
                            | oci_client::errors::OciErrorCode::BlobUnknown
                            | oci_client::errors::OciErrorCode::NameUnknown
                    )
                }) =>
            {
                RegistryError::NotFound { registry, what }
            }
            other => {
                let message = with_causes(&other);
                RegistryError::Request {
                    registry,
                    what,
                    message,
                }
            }
        }
    }

    /// Runs `op` with retries on transient failures (connection refused, timeouts, 5xx, 429).
    fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let attempts = self.opts.attempts.max(1);
        let mut wait = self.opts.backoff;
        let mut n = 1;
        loop {
            match self.runtime.block_on(op()) {
                Ok(v) => return Ok(v),
                Err(e) if n < attempts && is_transient(&e) => {
                    std::thread::sleep(wait);
                    wait *= 2;
                    n += 1;
                }
                Err(e) => {
                    let mut err = self.error(what, e);
                    if let RegistryError::Request { message, .. } = &mut err {
                        if n > 1 {
                            message.push_str(&format!(" (after {n} attempts)"));
                        }
                    }
                    return Err(err);
                }
            }
        }
    }

    fn reference(r: &ArtifactRef) -> Reference {
        match (&r.digest, &r.tag) {
            (Some(d), _) => {
                Reference::with_digest(r.registry.clone(), r.repository.clone(), d.clone())
            }
            (None, Some(t)) => {
                Reference::with_tag(r.registry.clone(), r.repository.clone(), t.clone())
            }
            (None, None) => {
                Reference::with_tag(r.registry.clone(), r.repository.clone(), "latest".into())
            }
        }
    }

    /// Whether the repository already holds the blob `digest`.
    pub fn blob_exists(&self, r: &ArtifactRef, digest: &str) -> Result<bool, RegistryError> {
        let reference = Self::reference(r);
        let what = format!("checking blob {digest} in {}", r.repository);
        self.retry(&what, || async {
            self.client
                .store_auth_if_needed(reference.resolve_registry(), &self.auth)
                .await;
            self.client.blob_exists(&reference, digest).await
        })
    }

    /// Uploads `data` unless the repository has it already; returns whether it was uploaded.
    pub fn push_blob(&self, r: &ArtifactRef, data: &[u8]) -> Result<bool, RegistryError> {
        let digest = digest_of(data);
        if self.blob_exists(r, &digest)? {
            return Ok(false);
        }
        let reference = Self::reference(r);
        let bytes = bytes::Bytes::copy_from_slice(data);
        let what = format!("uploading blob {digest} to {}", r.repository);
        self.retry(&what, || async {
            self.client
                .push_blob(&reference, bytes.clone(), &digest)
                .await
        })?;
        Ok(true)
    }

    /// Puts a manifest at `r` (a tag or its digest).
    pub fn push_manifest(
        &self,
        r: &ArtifactRef,
        manifest: &[u8],
        media_type: &str,
    ) -> Result<(), RegistryError> {
        let reference = Self::reference(r);
        let bytes = bytes::Bytes::copy_from_slice(manifest);
        let content_type = http::HeaderValue::from_str(media_type)
            .map_err(|e| RegistryError::Runtime(e.to_string()))?;
        let what = format!("writing manifest {r}");
        self.retry(&what, || async {
            self.client
                .store_auth_if_needed(reference.resolve_registry(), &self.auth)
                .await;
            self.client
                .push_manifest_raw(&reference, bytes.clone(), content_type.clone())
                .await
        })?;
        Ok(())
    }

    /// The digest the registry says `r` points at, from a manifest HEAD: cheap enough to ask
    /// every interval. It only tells whether something changed; what is pulled next is pulled
    /// by that digest and checked against it.
    pub fn manifest_digest(&self, r: &ArtifactRef) -> Result<String, RegistryError> {
        let reference = Self::reference(r);
        let what = format!("resolving {r}");
        let auth = self.auth.clone();
        let digest = self.retry(&what, || async {
            self.client.fetch_manifest_digest(&reference, &auth).await
        })?;
        if !super::reference::valid_digest(&digest) {
            return Err(RegistryError::Request {
                registry: self.registry.clone(),
                what,
                message: format!("the registry answered with `{digest}`, not a sha256 digest"),
            });
        }
        Ok(digest)
    }

    /// Fetches the manifest at `r` and returns its bytes and their digest. When `r` names a
    /// digest, the bytes must hash to it.
    pub fn manifest(&self, r: &ArtifactRef) -> Result<(Vec<u8>, String), RegistryError> {
        self.manifest_accepting(r, MANIFEST_ACCEPT)
    }

    /// An image index (a referrers list under the tag schema), as [`Registry::manifest`].
    pub fn index(&self, r: &ArtifactRef) -> Result<(Vec<u8>, String), RegistryError> {
        self.manifest_accepting(r, &[INDEX_ACCEPT])
    }

    /// The referrers of the manifest `r` (pinned by digest): the registry's referrers API, or
    /// the referrers tag schema where the registry answers that API with 404. Empty when
    /// neither lists anything.
    pub fn referrers(&self, r: &ArtifactRef) -> Result<Vec<ImageIndexEntry>, RegistryError> {
        let reference = Self::reference(r);
        let what = format!("listing the referrers of {r}");
        let index = self.retry(&what, || async {
            self.client
                .store_auth_if_needed(reference.resolve_registry(), &self.auth)
                .await;
            self.client.pull_referrers(&reference, None).await
        })?;
        Ok(index.manifests)
    }

    fn manifest_accepting(
        &self,
        r: &ArtifactRef,
        accept: &[&str],
    ) -> Result<(Vec<u8>, String), RegistryError> {
        let reference = Self::reference(r);
        let what = format!("reading manifest {r}");
        let auth = self.auth.clone();
        let (bytes, _) = self.retry(&what, || async {
            self.client
                .pull_manifest_raw(&reference, &auth, accept)
                .await
        })?;
        if bytes.len() > MAX_MANIFEST {
            return Err(RegistryError::TooLarge {
                registry: self.registry.clone(),
                what,
                limit: MAX_MANIFEST as u64,
            });
        }
        // The digest is computed here, from the bytes we hold: never taken from a header.
        let digest = digest_of(&bytes);
        if let Some(want) = &r.digest {
            if &digest != want {
                return Err(RegistryError::DigestMismatch {
                    registry: self.registry.clone(),
                    what,
                    expected: want.clone(),
                    actual: digest,
                });
            }
        }
        Ok((bytes.to_vec(), digest))
    }

    /// Fetches the blob `digest` of `size` bytes (as a signed manifest describes it) and checks
    /// both; refuses anything over `limit`.
    pub fn blob(
        &self,
        r: &ArtifactRef,
        digest: &str,
        size: u64,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let what = format!("reading blob {digest} from {}", r.repository);
        if size > limit {
            return Err(RegistryError::TooLarge {
                registry: self.registry.clone(),
                what,
                limit,
            });
        }
        let reference = Self::reference(r);
        let desc = OciDescriptor {
            digest: digest.to_string(),
            size: size as i64,
            ..Default::default()
        };
        let data = self.retry(&what, || async {
            self.client
                .store_auth_if_needed(reference.resolve_registry(), &self.auth)
                .await;
            let mut out = LimitedBuf {
                // Grow as bytes arrive: a claimed size is no reason to reserve memory.
                buf: Vec::with_capacity(size.min(16 << 20) as usize),
                limit: size as usize,
            };
            self.client
                .pull_blob(&reference, &desc, &mut out)
                .await
                .map(|()| out.buf)
        });
        let data = data?;
        let actual = digest_of(&data);
        if actual != digest || data.len() as u64 != size {
            return Err(RegistryError::DigestMismatch {
                registry: self.registry.clone(),
                what,
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(data)
    }
}

/// An error's text with the causes its Display leaves out (reqwest's says only "error sending
/// request"), each once.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !message.contains(&t) {
            message.push_str(": ");
            message.push_str(&t);
        }
        src = s.source();
    }
    message
}
