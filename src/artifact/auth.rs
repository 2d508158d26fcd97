//! Registry credentials the way users keep them: `--creds USER:PASS` (or `FERRY_REGISTRY_CREDS`),
//! else Docker's `config.json` (`$DOCKER_CONFIG`, else `~/.docker`): `auths` entries, and
//! `credHelpers` / `credsStore` through `docker-credential-<helper> get`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A user name and password (or token). `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ username: {:?}, password: <redacted> }}",
            self.username
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("--creds wants USER:PASSWORD")]
    BadCreds,
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("credential helper docker-credential-{helper} failed for {registry}: {message}")]
    Helper {
        helper: String,
        registry: String,
        message: String,
    },
}

impl Credentials {
    /// Parses `USER:PASSWORD`.
    pub fn parse(text: &str) -> Result<Credentials, AuthError> {
        match text.split_once(':') {
            Some((u, p)) if !u.is_empty() => Ok(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            }),
            _ => Err(AuthError::BadCreds),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// Where Docker keeps `config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// The keys a registry may be filed under in `auths`: `host`, `https://host`, `http://host`,
/// with or without `/v1/` or `/v2/`.
fn matches_host(key: &str, registry: &str) -> bool {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let k = k.split('/').next().unwrap_or(k);
    k == registry || (registry == "docker.io" && k == "index.docker.io")
}

fn from_entry(path: &Path, key: &str, e: &AuthEntry) -> Result<Option<Credentials>, AuthError> {
    if let Some(auth) = e.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = |m: &str| AuthError::Config {
            path: path.to_path_buf(),
            message: format!("auths.{key:?}.auth {m}"),
        };
        let raw = B64.decode(auth.trim()).map_err(|_| bad("is not base64"))?;
        let text = String::from_utf8(raw).map_err(|_| bad("is not UTF-8"))?;
        return Credentials::parse(&text)
            .map(Some)
            .map_err(|_| bad("is not base64 of USER:PASSWORD"));
    }
    if let (Some(u), Some(p)) = (&e.username, &e.password) {
        return Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        }));
    }
    if let Some(token) = &e.identitytoken {
        // What docker stores after an OAuth login: sent as the password of the `<token>` user.
        return Ok(Some(Credentials {
            username: "<token>".into(),
            password: token.clone(),
        }));
    }
    Ok(None)
}

fn run_helper(helper: &str, registry: &str) -> Result<Option<Credentials>, AuthError> {
    let fail = |message: String| AuthError::Helper {
        helper: helper.to_string(),
        registry: registry.to_string(),
        message,
    };
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(registry.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stdout).trim().to_string();
        // Helpers say "credentials not found in native keychain" when they have nothing.
        if msg.contains("not found") {
            return Ok(None);
        }
        return Err(fail(msg));
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperOut {
        username: String,
        secret: String,
    }
    let h: HelperOut =
        serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("unreadable answer: {e}")))?;
    Ok(Some(Credentials {
        username: h.username,
        password: h.secret,
    }))
}

/// Credentials for `registry` from a Docker config file, if it has any.
///
/// # Errors
/// An unreadable or malformed config file, a failing credential helper.
pub fn from_docker_config(path: &Path, registry: &str) -> Result<Option<Credentials>, AuthError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AuthError::Config {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        }
    };
    let config: DockerConfig = serde_json::from_str(&text).map_err(|e| AuthError::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if let Some(helper) = config
        .cred_helpers
        .iter()
        .find(|(k, _)| matches_host(k, registry))
        .map(|(_, h)| h)
    {
        return run_helper(helper, registry);
    }
    for (key, entry) in &config.auths {
        if matches_host(key, registry) {
            if let Some(c) = from_entry(path, key, entry)? {
                return Ok(Some(c));
            }
        }
    }
    match &config.creds_store {
        Some(store) if !store.is_empty() => run_helper(store, registry),
        _ => Ok(None),
    }
}

/// The credentials to use for `registry`: explicit ones first, then Docker's config.
pub fn resolve(
    explicit: Option<&Credentials>,
    registry: &str,
) -> Result<Option<Credentials>, AuthError> {
    if let Some(c) = explicit {
        return Ok(Some(c.clone()));
    }
    match docker_config_path() {
        Some(p) => from_docker_config(&p, registry),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_auths_in_their_usual_spellings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        let auth = B64.encode("alice:s3cret");
        std::fs::write(
            &path,
            format!(r#"{{"auths":{{"https://reg.example:5000/v2/":{{"auth":"{auth}"}},"other.io":{{"username":"bob","password":"pw"}}}}}}"#),
        )
        .expect("write");
        let c = from_docker_config(&path, "reg.example:5000")
            .expect("read")
            .expect("found");
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "s3cret")
        );
        let c = from_docker_config(&path, "other.io")
            .expect("read")
            .expect("found");
        assert_eq!(c.username, "bob");
        assert!(from_docker_config(&path, "nothing.io")
            .expect("read")
            .is_none());
        assert!(
            !format!("{c:?}").contains("pw"),
            "Debug must not show the password"
        );
    }

    #[test]
    fn missing_file_is_no_credentials_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(from_docker_config(&dir.path().join("none.json"), "r.io")
            .expect("ok")
            .is_none());
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{").expect("write");
        let err = from_docker_config(&bad, "r.io").expect_err("garbage");
        assert!(
            err.to_string().starts_with(&bad.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn creds_flag() {
        assert_eq!(Credentials::parse("u:p:q").expect("ok").password, "p:q");
        assert!(Credentials::parse("nopass").is_err());
    }
}
