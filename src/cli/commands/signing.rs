//! Which cosign keys sign and verify: a flag wins, then ferry.yaml's `signing:` (the
//! environment's own, else the top level's), then an environment variable.

use super::keygen_signing::cosign_password;
use crate::artifact::sign::keys;
use crate::artifact::ArtifactRef;
use crate::config::{self, ConfigError, Pipeline};
use anyhow::Context;
use p256::ecdsa::{SigningKey, VerifyingKey};
use std::path::{Path, PathBuf};

/// The variable that names the key `ferry push` signs with.
pub(super) const SIGNING_ENV: &str = "FERRY_SIGNING_KEY";
/// The variables that name the public key(s) every verifying command (pull, verify, diff,
/// apply) checks with, comma-separated; the first one set is used. `FERRY_COSIGN_KEY` is the
/// one the in-cluster Job has always set for `ferry apply`.
pub(super) const VERIFY_ENVS: [&str; 2] = ["FERRY_VERIFY_KEY", "FERRY_COSIGN_KEY"];

/// `ferry.yaml` as found on disk at the pipeline root, with its text for line numbers.
pub(super) struct PipelineFile {
    pub root: PathBuf,
    pub file: PathBuf,
    pub text: String,
    pub pipeline: Pipeline,
}

impl PipelineFile {
    /// `None` when the root has no ferry.yaml: keys then come from flags and variables only.
    ///
    /// # Errors
    /// A ferry.yaml that cannot be read or is invalid.
    pub fn find(root: &Path) -> anyhow::Result<Option<PipelineFile>> {
        let file = root.join(config::FILE_NAME);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ConfigError::Read { file, source }.into()),
        };
        let pipeline = config::parse(&file, &text)?;
        Ok(Some(PipelineFile {
            root: root.to_path_buf(),
            file,
            text,
            pipeline,
        }))
    }

    /// The environment whose `artifact:` is the repository `r` names, if exactly one is.
    pub fn environment_of(&self, r: &ArtifactRef) -> Option<String> {
        let mut hits = self.pipeline.environments.iter().filter(|(_, e)| {
            e.artifact
                .as_deref()
                .and_then(|a| ArtifactRef::parse(a).ok())
                .is_some_and(|a| a.registry == r.registry && a.repository == r.repository)
        });
        match (hits.next(), hits.next()) {
            (Some((name, _)), None) => Some(name.clone()),
            _ => None,
        }
    }
}

/// Where a key file was named, so that a failure to read it points there.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Flag,
    /// The key path in ferry.yaml (`environments.prod.signing.publicKey`).
    Config(String),
    Env(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeyFile {
    pub path: PathBuf,
    origin: Origin,
}

impl KeyFile {
    /// The file's text; a failure names the flag, ferry.yaml line or variable that named it.
    fn read(&self, cfg: Option<&PipelineFile>) -> anyhow::Result<String> {
        let err = match keys::read(&self.path) {
            Ok(text) => return Ok(text),
            Err(e) => e,
        };
        match (&self.origin, cfg) {
            (Origin::Config(key), Some(c)) => Err(ConfigError::at(
                &c.file,
                &c.text,
                key,
                err.to_string(),
                Some(format!(
                    "key paths are relative to {}; fix the path or pass --key",
                    c.root.display()
                )),
            )
            .into()),
            (Origin::Env(var), _) => {
                Err(anyhow::Error::new(err).context(format!("the key named by ${var}")))
            }
            _ => Err(err.into()),
        }
    }
}

fn from_config(cfg: Option<&PipelineFile>, env: Option<&str>, public: bool) -> Option<KeyFile> {
    let c = cfg?;
    let (key, path) = c.pipeline.signing_file(env, public)?;
    Some(KeyFile {
        path: c.root.join(path),
        origin: Origin::Config(key),
    })
}

fn from_env(var: &'static str) -> Vec<KeyFile> {
    let Some(v) = std::env::var_os(var) else {
        return Vec::new();
    };
    let v = v.to_string_lossy().into_owned();
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| KeyFile {
            path: PathBuf::from(p),
            origin: Origin::Env(var),
        })
        .collect()
}

/// The private key file for environment `env`, if any is named anywhere.
pub(super) fn signing_key_file(
    flag: Option<&Path>,
    cfg: Option<&PipelineFile>,
    env: Option<&str>,
) -> Option<KeyFile> {
    if let Some(p) = flag {
        return Some(KeyFile {
            path: p.to_path_buf(),
            origin: Origin::Flag,
        });
    }
    from_config(cfg, env, false).or_else(|| from_env(SIGNING_ENV).into_iter().next())
}

/// Reads and opens (with COSIGN_PASSWORD or a prompt) the private key `ferry push` signs with.
pub(super) fn signing_key(
    file: &KeyFile,
    cfg: Option<&PipelineFile>,
) -> anyhow::Result<SigningKey> {
    let text = file.read(cfg)?;
    Ok(keys::parse_private(&file.path, &text, || {
        cosign_password(false).map_err(|e| e.to_string())
    })?)
}

/// The public key files for environment `env`: every `--key` given, else the configured one,
/// else those the first of [`VERIFY_ENVS`] that is set names. Every verifying command reads
/// its keys here, so they all trust the same keys.
pub(super) fn verify_key_files(
    flags: &[PathBuf],
    cfg: Option<&PipelineFile>,
    env: Option<&str>,
) -> Vec<KeyFile> {
    if !flags.is_empty() {
        return flags
            .iter()
            .map(|p| KeyFile {
                path: p.clone(),
                origin: Origin::Flag,
            })
            .collect();
    }
    match from_config(cfg, env, true) {
        Some(k) => vec![k],
        None => VERIFY_ENVS
            .iter()
            .map(|var| from_env(var))
            .find(|files| !files.is_empty())
            .unwrap_or_default(),
    }
}

/// The public keys that must have signed `r`: `flags`, else the `signing.publicKey` of the
/// environment whose `artifact:` is `r`'s repository (or the top level's) in the ferry.yaml at
/// `root`, else those the verify variables name. None at all with `insecure_skip_verify`.
///
/// # Errors
/// An invalid ferry.yaml; a key file that cannot be read or is not a public key.
pub(super) fn keys_for(
    root: &Path,
    flags: &[PathBuf],
    insecure_skip_verify: bool,
    r: &ArtifactRef,
) -> anyhow::Result<Vec<VerifyingKey>> {
    if insecure_skip_verify {
        return Ok(Vec::new());
    }
    // ferry.yaml is read only when no flag names a key: a cluster Job has none.
    let cfg = if flags.is_empty() {
        PipelineFile::find(root)?
    } else {
        None
    };
    let env = cfg.as_ref().and_then(|c| c.environment_of(r));
    let files = verify_key_files(flags, cfg.as_ref(), env.as_deref());
    verify_keys(&files, cfg.as_ref())
}

/// Reads and parses public keys.
pub(super) fn verify_keys(
    files: &[KeyFile],
    cfg: Option<&PipelineFile>,
) -> anyhow::Result<Vec<VerifyingKey>> {
    files
        .iter()
        .map(|f| {
            let text = f.read(cfg)?;
            keys::parse_public(&f.path, &text)
                .with_context(|| format!("{} is not a cosign public key", f.path.display()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nsigning:\n  key: keys/top.key\n  publicKey: keys/top.pub\nenvironments:\n  prod:\n    artifact: r.example/p/prod\n    signing:\n      publicKey: keys/prod.pub\n  staging:\n    artifact: r.example/p/staging\napps:\n  a:\n    path: a\n";

    fn cfg() -> PipelineFile {
        let file = PathBuf::from("/repo/ferry.yaml");
        PipelineFile {
            root: PathBuf::from("/repo"),
            pipeline: config::parse(&file, YAML).expect("valid"),
            file,
            text: YAML.into(),
        }
    }

    #[test]
    fn flags_win_then_the_environment_then_the_top_level() {
        let c = cfg();
        let flag = [PathBuf::from("/k/flag.pub")];
        let files = verify_key_files(&flag, Some(&c), Some("prod"));
        assert_eq!(files[0].path, PathBuf::from("/k/flag.pub"));
        let files = verify_key_files(&[], Some(&c), Some("prod"));
        assert_eq!(files[0].path, PathBuf::from("/repo/keys/prod.pub"));
        let files = verify_key_files(&[], Some(&c), Some("staging"));
        assert_eq!(files[0].path, PathBuf::from("/repo/keys/top.pub"));
        // The private key is not overridden by prod, so prod signs with the top-level one.
        let k = signing_key_file(None, Some(&c), Some("prod")).expect("configured");
        assert_eq!(k.path, PathBuf::from("/repo/keys/top.key"));
    }

    #[test]
    fn a_missing_configured_key_names_the_line_and_key_path() {
        let c = cfg();
        let files = verify_key_files(&[], Some(&c), Some("prod"));
        let err = verify_keys(&files, Some(&c)).expect_err("no such file");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("ferry.yaml:10: environments.prod.signing.publicKey"),
            "{msg}"
        );
        assert!(msg.contains("/repo/keys/prod.pub"), "{msg}");
    }

    #[test]
    fn the_environment_is_found_by_its_artifact_repository() {
        let c = cfg();
        let r = ArtifactRef::parse("oci://r.example/p/prod:latest").expect("ref");
        assert_eq!(c.environment_of(&r).as_deref(), Some("prod"));
        let r = ArtifactRef::parse("oci://r.example/p/other:latest").expect("ref");
        assert_eq!(c.environment_of(&r), None);
    }
}
