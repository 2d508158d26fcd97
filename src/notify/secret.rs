//! Provider secrets (webhook URLs, tokens, HMAC keys): read from a file or an environment
//! variable at start, never from the declaration itself; [`Secret`] prints as `***`, and
//! [`Secret::redact`] removes the value from any text before it reaches a log or an error.

use serde::Deserialize;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Where a secret comes from: exactly one of `file` or `env`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRef {
    pub file: Option<PathBuf>,
    pub env: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("{what}: give exactly one of `file:` or `env:` (the value itself never goes in the declaration)")]
    Ambiguous { what: String },
    #[error("{what}: cannot read secret file {}: {reason}; hint: create it (mode 0600) or point `file:` at it", path.display())]
    File {
        what: String,
        path: PathBuf,
        reason: String,
    },
    #[error("{what}: environment variable {name} is not set or empty")]
    Env { what: String, name: String },
}

/// A secret value. Neither Debug nor Display show it.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the value (and of its path and query, for a URL whose
    /// token lives there) replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let v = self.expose();
        if v.len() < 4 {
            return text.to_string();
        }
        let mut out = text.replace(v, "***");
        // reqwest's errors name the URL they failed on, possibly re-serialised.
        if let Ok(u) = reqwest::Url::parse(v) {
            out = out.replace(u.as_str(), "***");
            let tail = match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            };
            if tail.len() > 1 {
                out = out.replace(&tail, "/***");
            }
        }
        out
    }
}

impl SecretRef {
    pub fn read(&self, what: &str) -> Result<Secret, SecretError> {
        match (&self.file, &self.env) {
            (Some(path), None) => {
                let text = std::fs::read_to_string(path).map_err(|e| SecretError::File {
                    what: what.into(),
                    path: path.clone(),
                    reason: e.kind().to_string(),
                })?;
                let v = text.trim();
                if v.is_empty() {
                    return Err(SecretError::File {
                        what: what.into(),
                        path: path.clone(),
                        reason: "the file is empty".into(),
                    });
                }
                Ok(Secret::new(v))
            }
            (None, Some(name)) => match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
                _ => Err(SecretError::Env {
                    what: what.into(),
                    name: name.clone(),
                }),
            },
            _ => Err(SecretError::Ambiguous { what: what.into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_covers_the_value_and_a_url_path() {
        let s = Secret::new("https://hooks.example.test/services/T0/B0/XYZSECRET");
        assert_eq!(format!("{s:?}"), "***");
        let msg =
            "error sending request for url (https://hooks.example.test/services/T0/B0/XYZSECRET)";
        let r = s.redact(msg);
        assert!(!r.contains("XYZSECRET"), "{r}");
        let r = s.redact("POST /services/T0/B0/XYZSECRET failed");
        assert!(!r.contains("XYZSECRET"), "{r}");
    }

    #[test]
    fn missing_file_and_env_are_named() {
        let r = SecretRef {
            file: Some("/nonexistent/token".into()),
            env: None,
        };
        let e = r.read("provider gh").expect_err("missing");
        assert!(e.to_string().contains("/nonexistent/token"), "{e}");
        let r = SecretRef {
            file: None,
            env: Some("FERRY_TEST_SURELY_UNSET_VAR".into()),
        };
        assert!(r
            .read("x")
            .expect_err("unset")
            .to_string()
            .contains("FERRY_TEST_SURELY_UNSET_VAR"));
        let both = SecretRef {
            file: Some("a".into()),
            env: Some("b".into()),
        };
        assert!(matches!(both.read("x"), Err(SecretError::Ambiguous { .. })));
    }
}
