//! `ferry diff`: what would change between two builds, object by object, with secret values
//! never shown.
//!
//! The pipeline is: [`load_dir`] reads an `out/<env>` directory (or anything unpacked into one,
//! such as a pulled artifact) into a [`Build`]; [`compare`] turns two builds into an [`EnvDiff`];
//! [`DiffReport::from_envs`] groups environments; [`render`] writes text, JSON or Markdown.
//! Secrets are compared key by key in [`secrets`] and redacted before any text diff is made.
//!
//! Where other sources plug in:
//! - an artifact (`oci://…`, `--against pushed`): pull, verify and unpack it into a temporary
//!   directory (it holds the same `out/<env>` layout), then [`load_dir`] it;
//! - SOPS decryption: implement [`SecretDecryptor`] and pass it in [`SecretContext`];
//! - the live cluster: [`live::live_sides`] turns what the server returned (live objects and
//!   dry-run results, after [`strip_server_fields`]) into two in-memory builds, compared the same way.

pub mod live;
mod load;
mod normalize;
mod objects;
pub mod render;
mod report;
pub mod secrets;
pub mod synthetic;
pub mod tenants;
mod unified;

pub use load::{load_dir, Build, Entry, LoadError};
pub use normalize::strip_server_fields;
pub use objects::compare;
pub use report::{
    ChangeKind, Counts, DiffReport, EnvDiff, EnvSummary, GroupedChange, KeyChange, KeyStatus,
    ObjectChange,
};
pub use secrets::{DecryptError, FingerprintKey, KeyError, SecretDecryptor};
pub use tenants::{TenantFilter, UnknownTenant, PLATFORM};
pub use unified::unified_diff;

use std::path::Path;

/// How objects are compared.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Kinds whose values are secret, as `Kind` (core group) or `Kind.group`, besides `Secret`.
    /// Every object that carries a SOPS `sops:` block is treated as secret too.
    pub secret_kinds: Vec<String>,
    /// Lines of context around each change in the unified diffs.
    pub context_lines: usize,
    /// Only these owners' objects (`ferry diff --tenant`); `None`: every object.
    pub tenants: Option<TenantFilter>,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            secret_kinds: Vec::new(),
            context_lines: 3,
            tenants: None,
        }
    }
}

/// What secret comparison may use: a key for fingerprints, a way to decrypt SOPS values. Both
/// optional; without them the diff says less, never more.
#[derive(Default, Clone, Copy)]
pub struct SecretContext<'a> {
    pub fingerprint_key: Option<&'a FingerprintKey>,
    pub decryptor: Option<&'a dyn SecretDecryptor>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("cannot decrypt {object} in {file}: {source}")]
    Decrypt {
        object: String,
        file: String,
        #[source]
        source: DecryptError,
    },
}

/// Compares two `out/<env>` directories: the library entry point for scripts and benchmarks.
///
/// # Errors
/// When either directory is not a readable build (no `index.json`, a file that does not match
/// its digest, an object that does not parse) or a secret cannot be decrypted.
pub fn diff_dirs(
    old: &Path,
    new: &Path,
    opts: &DiffOptions,
    secrets: SecretContext<'_>,
) -> Result<EnvDiff, DiffError> {
    let (old, new) = rayon::join(|| load_dir(old), || load_dir(new));
    compare(&old?, &new?, opts, secrets)
}
