//! `.sops.yaml`: the creation rules that say, per path, which age recipients and selectors a
//! new file gets (and which recipients `updatekeys` brings a file to).

use super::age::Recipient;
use super::sops::metadata::Selectors;
use super::SecretsError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = ".sops.yaml";

#[derive(Debug, Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    creation_rules: Vec<RawRule>,
}

/// `age` may be a comma-separated string or a list, as sops accepts.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringOrList {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, Default)]
struct RawRule {
    path_regex: Option<String>,
    age: Option<StringOrList>,
    unencrypted_suffix: Option<String>,
    encrypted_suffix: Option<String>,
    unencrypted_regex: Option<String>,
    encrypted_regex: Option<String>,
    unencrypted_comment_regex: Option<String>,
    encrypted_comment_regex: Option<String>,
    #[serde(default)]
    mac_only_encrypted: bool,
}

/// The rule that applies to one file.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub recipients: Vec<Recipient>,
    pub selectors: Selectors,
    pub mac_only_encrypted: bool,
}

/// Finds `.sops.yaml` in `start` or the nearest directory above it.
pub fn find(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// The first creation rule whose `path_regex` matches `file` (relative to the config's
/// directory, or as given); `None` when no rule matches.
///
/// # Errors
/// An unreadable config, a bad regex or a bad recipient, named with the config path.
pub fn rule_for(config: &Path, file: &Path) -> Result<Option<Rule>, SecretsError> {
    let bad = |message: String| SecretsError::Config {
        path: config.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(config).map_err(|e| bad(e.to_string()))?;
    crate::manifest::strict::check_rules(&text).map_err(|e| bad(e.to_string()))?;
    let raw: RawConfig = serde_yaml_ng::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let base = config.parent().unwrap_or(Path::new("."));
    let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let rel = abs
        .strip_prefix(base.canonicalize().unwrap_or(base.to_path_buf()))
        .map(Path::to_path_buf)
        .unwrap_or(abs.clone());
    let candidates = [
        file.to_string_lossy().into_owned(),
        rel.to_string_lossy().into_owned(),
    ];
    for (i, r) in raw.creation_rules.into_iter().enumerate() {
        if let Some(re) = &r.path_regex {
            let re = regex::Regex::new(re)
                .map_err(|e| bad(format!("creation_rules[{i}].path_regex: {e}")))?;
            if !candidates.iter().any(|c| re.is_match(c)) {
                continue;
            }
        }
        let list = match r.age {
            None => Vec::new(),
            Some(StringOrList::One(s)) => s
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            Some(StringOrList::Many(v)) => v,
        };
        let recipients = list
            .iter()
            .map(|s| Recipient::parse(s).map_err(|e| bad(format!("creation_rules[{i}].age: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Some(Rule {
            recipients,
            selectors: Selectors {
                unencrypted_suffix: r.unencrypted_suffix,
                encrypted_suffix: r.encrypted_suffix,
                unencrypted_regex: r.unencrypted_regex,
                encrypted_regex: r.encrypted_regex,
                unencrypted_comment_regex: r.unencrypted_comment_regex,
                encrypted_comment_regex: r.encrypted_comment_regex,
            },
            mac_only_encrypted: r.mac_only_encrypted,
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_rule_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = ::age::x25519::Identity::generate().to_public().to_string();
        let cfg = dir.path().join(FILE_NAME);
        std::fs::write(
            &cfg,
            format!("creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    encrypted_regex: ^data$\n    age: {id}\n  - age: [{id}]\n"),
        )
        .expect("writes");
        let r = rule_for(&cfg, &dir.path().join("secrets/a.yaml"))
            .expect("reads")
            .expect("matches");
        assert_eq!(r.selectors.encrypted_regex.as_deref(), Some("^data$"));
        let r = rule_for(&cfg, &dir.path().join("other.yaml"))
            .expect("reads")
            .expect("matches");
        assert_eq!(r.selectors, Selectors::default());
        assert_eq!(r.recipients.len(), 1);
    }
}
