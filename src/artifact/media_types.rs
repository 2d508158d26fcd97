//! Media types and annotation keys: Flux's artifact format (checked against fluxcd/pkg `oci/`)
//! and cosign's signature format.

/// The manifest of an artifact and of a signature: a plain OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Flux's config blob (`oci.CanonicalConfigMediaType`).
pub const FLUX_CONFIG: &str = "application/vnd.cncf.flux.config.v1+json";
/// Flux's content layer (`oci.CanonicalContentMediaType`): a gzip'd tar.
pub const FLUX_CONTENT: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

/// cosign's signature layer: the simple-signing payload.
pub const COSIGN_SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The config of cosign's signature image.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Annotation on a signature layer: base64 of the signature over the payload.
pub const COSIGN_SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The `type` inside a simple-signing payload.
pub const COSIGN_PAYLOAD_TYPE: &str = "cosign container image signature";

pub const ANNOTATION_SOURCE: &str = "org.opencontainers.image.source";
pub const ANNOTATION_REVISION: &str = "org.opencontainers.image.revision";
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
