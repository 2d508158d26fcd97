//! Age identities, found where sops users keep them: `--identity FILE`, `SOPS_AGE_KEY`,
//! `SOPS_AGE_KEY_FILE` and `$XDG_CONFIG_HOME/sops/age/keys.txt` (default `~/.config`).
//! `ferry keygen` writes a new one.

use super::SecretsError;
use age::secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The identities that may open a file, and where each came from (for messages).
pub struct Identities {
    ids: Vec<age::x25519::Identity>,
    /// SSH keys (ed25519, rsa), as sops takes them.
    ssh: Vec<age::ssh::Identity>,
    sources: Vec<String>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

impl Identities {
    /// No identities at all.
    pub fn empty() -> Identities {
        Identities {
            ids: Vec::new(),
            ssh: Vec::new(),
            sources: Vec::new(),
        }
    }

    /// Parses an identity file's text: `AGE-SECRET-KEY-1...` lines, `#` comments, blank lines.
    ///
    /// # Errors
    /// A line that is not an identity, named by its number (never its content).
    pub fn from_text(text: &str, source: &str) -> Result<Identities, SecretsError> {
        let mut ids = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id = age::x25519::Identity::from_str(line).map_err(|_| SecretsError::Identity {
                origin: source.to_string(),
                message: format!(
                    "line {} is not an age X25519 identity (AGE-SECRET-KEY-1...)",
                    n + 1
                ),
            })?;
            ids.push(id);
        }
        let sources = vec![source.to_string(); ids.len()];
        Ok(Identities {
            ids,
            ssh: Vec::new(),
            sources,
        })
    }

    /// Reads an identity file.
    ///
    /// # Errors
    /// The file cannot be read or holds something else.
    pub fn from_file(path: &Path) -> Result<Identities, SecretsError> {
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            SecretsError::Identity {
                origin: path.display().to_string(),
                message: e.to_string(),
            }
        })?);
        if text.trim_start().starts_with("-----BEGIN") {
            return Identities::from_ssh_text(&text, &path.display().to_string());
        }
        Identities::from_text(&text, &path.display().to_string())
    }

    /// Parses an SSH private key (ed25519 or rsa, without a passphrase), as sops takes it from
    /// `SOPS_AGE_SSH_PRIVATE_KEY_FILE`.
    ///
    /// # Errors
    /// Not an SSH key, a passphrase-protected one, or an unsupported type.
    pub fn from_ssh_text(text: &str, source: &str) -> Result<Identities, SecretsError> {
        let bad = |m: &str| SecretsError::Identity {
            origin: source.to_string(),
            message: m.to_string(),
        };
        let id = age::ssh::Identity::from_buffer(text.as_bytes(), Some(source.to_string()))
            .map_err(|_| bad("not an SSH private key"))?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {}
            age::ssh::Identity::Encrypted(_) => {
                return Err(bad(
                    "the SSH key has a passphrase, which ferry cannot ask for; use an age identity",
                ))
            }
            age::ssh::Identity::Unsupported(_) => {
                return Err(bad("unsupported SSH key type (use ed25519 or rsa)"))
            }
        }
        Ok(Identities {
            ids: Vec::new(),
            ssh: vec![id],
            sources: vec![source.to_string()],
        })
    }

    fn extend(&mut self, other: Identities) {
        self.ids.extend(other.ids);
        self.ssh.extend(other.ssh);
        self.sources.extend(other.sources);
    }

    /// Where sops looks by default: `$XDG_CONFIG_HOME/sops/age/keys.txt` or `~/.config/...`.
    pub fn default_file() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("sops").join("age").join("keys.txt"))
    }

    /// Every identity available: the explicit file when given, else the sops environment
    /// variables and the default keys file (all of them, as sops does).
    ///
    /// # Errors
    /// A named source that cannot be read or parsed.
    pub fn load(explicit: Option<&Path>) -> Result<Identities, SecretsError> {
        if let Some(path) = explicit {
            return Identities::from_file(path);
        }
        let mut all = Identities::empty();
        if let Some(text) = std::env::var_os("SOPS_AGE_KEY").filter(|v| !v.is_empty()) {
            let text = zeroize::Zeroizing::new(text.to_string_lossy().into_owned());
            all.extend(Identities::from_text(&text, "$SOPS_AGE_KEY")?);
        }
        if let Some(file) = std::env::var_os("SOPS_AGE_KEY_FILE").filter(|v| !v.is_empty()) {
            all.extend(Identities::from_file(Path::new(&file))?);
        }
        if let Some(file) = Identities::default_file().filter(|f| f.is_file()) {
            all.extend(Identities::from_file(&file)?);
        }
        match std::env::var_os("SOPS_AGE_SSH_PRIVATE_KEY_FILE").filter(|v| !v.is_empty()) {
            Some(file) => all.extend(Identities::from_file(Path::new(&file))?),
            None => {
                // Like sops: the usual SSH keys, when they are usable (others are skipped).
                if let Some(home) = std::env::var_os("HOME") {
                    for name in ["id_ed25519", "id_rsa"] {
                        let p = PathBuf::from(&home).join(".ssh").join(name);
                        if let Ok(ids) = Identities::from_file(&p) {
                            all.extend(ids);
                        }
                    }
                }
            }
        }
        Ok(all)
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.ssh.is_empty()
    }

    /// Where the identities came from, one entry per identity.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// The identities as the age library takes them.
    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.ids
            .iter()
            .map(|i| i as &dyn age::Identity)
            .chain(self.ssh.iter().map(|i| i as &dyn age::Identity))
    }

    /// The public recipients of these identities.
    pub fn recipients(&self) -> Vec<String> {
        self.ids.iter().map(|i| i.to_public().to_string()).collect()
    }

    /// Secret key material of the first identity, for deriving stable sealing randomness.
    /// `None` when there is no identity.
    pub fn seal_secret(&self) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        self.ids
            .first()
            .map(|i| zeroize::Zeroizing::new(i.to_string().expose_secret().as_bytes().to_vec()))
    }
}

/// A new identity as the text of a keys file (the format `age-keygen` writes) and its recipient.
pub fn generate() -> (zeroize::Zeroizing<String>, String) {
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let text = format!(
        "# created: {}\n# public key: {recipient}\n{}\n",
        super::sops::metadata::now_rfc3339(),
        id.to_string().expose_secret()
    );
    (zeroize::Zeroizing::new(text), recipient)
}

/// Writes a new identity to `path` with mode 0600, refusing to overwrite; returns the recipient.
///
/// # Errors
/// The file exists or cannot be written.
pub fn write_new(path: &Path) -> Result<String, SecretsError> {
    use std::io::Write;
    let (text, recipient) = generate();
    let io = |e: std::io::Error| SecretsError::Identity {
        origin: path.display().to_string(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    Ok(recipient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_a_private_file_that_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.txt");
        let r = write_new(&path).expect("writes");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
                0o600
            );
        }
        let ids = Identities::from_file(&path).expect("loads");
        assert_eq!(ids.recipients(), vec![r]);
        assert!(write_new(&path).is_err(), "never overwrites");
    }

    #[test]
    fn bad_line_is_named_without_content() {
        let err =
            Identities::from_text("# c\nAGE-SECRET-KEY-1NOTAKEY\n", "f").expect_err("refused");
        let msg = err.to_string();
        assert!(msg.contains("line 2") && !msg.contains("NOTAKEY"), "{msg}");
    }
}
