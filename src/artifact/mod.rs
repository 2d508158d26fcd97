//! Artifacts: an environment's build output as a reproducible, cosign-signed OCI artifact in
//! the format Flux's OCIRepository reads, and the verified, safe way back to files.
//!
//! [`push::push_dir`] packs and pushes a directory; [`pull::fetch_verified`] and [`pull::pull`]
//! bring one back only after its signature and digests checked out.

pub mod auth;
pub mod media_types;
pub mod oci;
pub mod oci_json;
pub mod pool;
pub mod pull;
pub mod push;
pub mod reference;
pub mod referrers;
pub mod sign;
pub mod tarball;

pub use oci::{RegistryError, RegistryOptions};
pub use oci_json::Provenance;
pub use pool::RegistryPool;
pub use pull::{
    fetch_verified, pull, resolve_digest, Verified, VerifyError, VerifyOptions, VerifyReport,
};
pub use push::{prepare, push_dir, push_prepared, Prepared, PushError, PushOptions, PushReport};
pub use reference::ArtifactRef;
pub use sign::SignatureFormat;
pub use tarball::{pack_dir, unpack, PackError, Packed, UnpackError, UnpackLimits, Unpacked};
