//! Pulling a signed artifact into a private temporary directory, for `ferry apply oci://` and
//! the `oci://` sides of `ferry diff`: resolved to a digest once, signature and digests checked
//! before anything is unpacked.

use super::push::registry_options;
use super::repo_root;
use super::signing;
use crate::apply::source::{Pulled, Puller};
use crate::artifact::{self, ArtifactRef, UnpackLimits, Verified, VerifyOptions};
use crate::cli::args::{ApplyArgs, GlobalArgs, RegistryArgs};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// How to trust what is pulled: the keys named on the command line (or none), whether an
/// unsigned artifact was explicitly accepted.
pub(super) struct Trust<'a> {
    pub keys: &'a [PathBuf],
    pub insecure_skip_verify: bool,
}

/// Verifies `r` and unpacks it into `into` (new or empty). Keys: the flags, else the
/// `signing.publicKey` of the environment whose `artifact:` is `r`'s repository (or the top
/// level's), else the verify variables (`signing::VERIFY_ENVS`).
///
/// # Errors
/// `--offline`, no key, a signature or digest that does not check out, an unsafe tarball.
pub(super) fn pull_into(
    g: &GlobalArgs,
    reg: &RegistryArgs,
    trust: &Trust<'_>,
    r: &ArtifactRef,
    into: &Path,
) -> anyhow::Result<Verified> {
    let opts = VerifyOptions {
        keys: signing::keys_for(
            &repo_root(&g.repo),
            trust.keys,
            trust.insecure_skip_verify,
            r,
        )?,
        insecure_skip_verify: trust.insecure_skip_verify,
        limits: UnpackLimits::default(),
        registry: registry_options(g, reg, r)?,
    };
    let (verified, _) = artifact::pull(r, into, &opts)?;
    Ok(verified)
}

/// A verified artifact unpacked into a private temporary directory, removed on drop.
pub(super) struct PulledDir {
    dir: tempfile::TempDir,
    pub verified: Verified,
}

impl PulledDir {
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("content")
    }
}

/// [`pull_into`] a fresh private temporary directory.
pub(super) fn pull_temp(
    g: &GlobalArgs,
    reg: &RegistryArgs,
    trust: &Trust<'_>,
    r: &ArtifactRef,
) -> anyhow::Result<PulledDir> {
    // tempfile makes the directory 0700: nobody else reads what is unpacked.
    let dir = tempfile::Builder::new()
        .prefix("ferry-pull-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let verified = pull_into(g, reg, trust, r, &dir.path().join("content"))
        .with_context(|| format!("pulling oci://{r}"))?;
    Ok(PulledDir { dir, verified })
}

/// `ferry apply oci://REF`: the [`Puller`] backed by the artifact module.
pub(super) struct VerifiedPuller<'a> {
    global: &'a GlobalArgs,
    registry: &'a RegistryArgs,
    keys: Vec<PathBuf>,
    insecure_skip_verify: bool,
}

impl<'a> VerifiedPuller<'a> {
    pub fn new(global: &'a GlobalArgs, a: &'a ApplyArgs) -> VerifiedPuller<'a> {
        VerifiedPuller {
            global,
            registry: &a.registry,
            keys: a.key.iter().cloned().collect(),
            insecure_skip_verify: a.insecure_skip_verify,
        }
    }
}

impl Puller for VerifiedPuller<'_> {
    fn pull_verified(&self, reference: &str, into: &Path) -> Result<Pulled, String> {
        let run = || -> anyhow::Result<Pulled> {
            let r = ArtifactRef::parse(reference)?;
            let trust = Trust {
                keys: &self.keys,
                insecure_skip_verify: self.insecure_skip_verify,
            };
            let v = pull_into(self.global, self.registry, &trust, &r, into)?;
            if !v.signed {
                eprintln!(
                    "warning: oci://{reference}: signature NOT checked (--insecure-skip-verify)"
                );
            }
            Ok(Pulled {
                digest: v.digest.clone(),
                revision: v.manifest.provenance().revision,
            })
        };
        // The whole chain: "no signature verifies" alone would not say which check failed.
        run().map_err(|e| format!("{e:#}; nothing was applied"))
    }
}
