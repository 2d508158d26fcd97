//! Artifacts: an environment's build output as a reproducible, cosign-signed OCI artifact in
//! the format Flux's OCIRepository reads, and the verified, safe way back to files.

pub mod media_types;
pub mod oci_json;
pub mod sign;
pub mod tarball;

pub use tarball::{pack_dir, unpack, PackError, Packed, UnpackError, UnpackLimits, Unpacked};
