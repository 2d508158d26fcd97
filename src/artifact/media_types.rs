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

/// The empty config of an OCI 1.1 artifact manifest (`{}`), and its digest.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// An OCI image index: the referrers list, under the API or the referrers tag schema.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// A Sigstore bundle v0.3 (protobuf-specs' JSON): the `artifactType` of a signature referrer
/// and the media type of its one layer, as cosign v3 writes them.
pub const SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The in-toto statement types read (v1 is written).
pub const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
pub const IN_TOTO_STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// The predicate type of an image signature in a bundle (cosign v3's `cosign sign`).
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// Annotations cosign puts on a bundle referrer, so an index tells bundles apart.
pub const ANNOTATION_BUNDLE_CONTENT: &str = "dev.sigstore.bundle.content";
pub const ANNOTATION_BUNDLE_PREDICATE: &str = "dev.sigstore.bundle.predicateType";
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
