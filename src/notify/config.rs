//! The notification declaration: providers (where to send) and alerts (what, for which
//! environments). Read from `notifications:` in ferry.yaml or a file given to
//! `ferry apply --notify-config`; secrets are references (`file:`/`env:`), never values.

use super::event::{Event, Kind, Severity};
use super::secret::{Secret, SecretError, SecretRef};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default)]
    pub providers: Vec<ProviderSpec>,
    #[serde(default)]
    pub alerts: Vec<AlertSpec>,
    /// A link every event carries (a CI run, a dashboard); `--notify-link` overrides it.
    pub link: Option<String>,
    /// The same news is not re-sent within this many seconds (default 3600).
    pub dedup_seconds: Option<u64>,
    /// After this many suppressed repeats, one summary is sent (default 10).
    pub summary_after: Option<u32>,
}

/// One receiver, as declared.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// A URL that is not secret (a generic webhook without a token in it).
    pub url: Option<String>,
    /// A URL that is a secret (Slack, Teams, Discord webhooks carry their token in the path).
    pub address: Option<SecretRef>,
    /// API token (commit statuses).
    pub token: Option<SecretRef>,
    /// HMAC-SHA256 key (generic webhook).
    pub hmac_key: Option<SecretRef>,
    /// Extra request headers (generic webhook); values are not secret.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// API base URL (GitHub Enterprise, self-hosted GitLab, Gitea/Forgejo).
    pub base_url: Option<String>,
    /// `owner/repo` (GitHub, Gitea) or the project id or path (GitLab); default: from the
    /// artifact's `org.opencontainers.image.source`.
    pub repository: Option<String>,
    /// Per request (default 5).
    pub timeout_seconds: Option<f64>,
    /// Attempts after the first on 5xx, 429 and network errors (default 2).
    pub retries: Option<u32>,
    /// First backoff (default 500); doubles per attempt.
    pub backoff_millis: Option<u64>,
}

/// Which events go to which providers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertSpec {
    pub providers: Vec<String>,
    /// Event kinds (default: every kind the provider type takes).
    #[serde(default)]
    pub events: Vec<String>,
    /// The lowest severity sent (default info).
    pub severity: Option<Severity>,
    /// Environments or syncs (default: all).
    #[serde(default)]
    pub environments: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("notifications: provider {name:?}: unknown type {kind:?}; use one of slack, teams, teams-connector, discord, webhook, github, gitlab, gitea (forgejo)")]
    UnknownType { name: String, kind: String },
    #[error("notifications: provider {name:?}: {message}")]
    Provider { name: String, message: String },
    #[error("notifications: alert {index}: {message}")]
    Alert { index: usize, message: String },
    #[error("notifications: {0}")]
    Secret(#[from] SecretError),
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// The provider types ferry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderType {
    Slack,
    Teams,
    /// The legacy Office 365 connector (an "Incoming Webhook" on a channel): a MessageCard.
    TeamsConnector,
    Discord,
    Webhook,
    GitHub,
    GitLab,
    Gitea,
}

impl ProviderType {
    pub fn parse(s: &str) -> Option<ProviderType> {
        Some(match s {
            "slack" => ProviderType::Slack,
            "teams" | "msteams" => ProviderType::Teams,
            "teams-connector" | "msteams-connector" => ProviderType::TeamsConnector,
            "discord" => ProviderType::Discord,
            "webhook" | "generic" => ProviderType::Webhook,
            "github" => ProviderType::GitHub,
            "gitlab" => ProviderType::GitLab,
            "gitea" | "forgejo" => ProviderType::Gitea,
            _ => return None,
        })
    }

    pub fn is_commit_status(self) -> bool {
        matches!(
            self,
            ProviderType::GitHub | ProviderType::GitLab | ProviderType::Gitea
        )
    }

    /// Kinds sent when an alert names none: chat skips `progressing` (noise), commit statuses
    /// take only what maps to a state.
    pub fn default_kinds(self) -> Vec<Kind> {
        if self.is_commit_status() {
            vec![
                Kind::Progressing,
                Kind::Applied,
                Kind::Failed,
                Kind::HealthTimeout,
                Kind::VerificationRefused,
                Kind::PruneRefused,
                Kind::Test,
            ]
        } else {
            Kind::ALL
                .into_iter()
                .filter(|k| *k != Kind::Progressing)
                .collect()
        }
    }
}

/// A provider ready to send: its secrets read, its URL checked.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub kind: ProviderType,
    /// The URL for webhooks, the API base for commit statuses.
    pub url: reqwest::Url,
    /// True when `url` is itself a secret (then it is never printed).
    pub url_secret: Option<Secret>,
    pub token: Option<Secret>,
    pub hmac_key: Option<Secret>,
    pub headers: Vec<(String, String)>,
    pub repository: Option<String>,
    pub timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
}

impl Provider {
    /// Every secret this provider holds, for redaction.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        [&self.url_secret, &self.token, &self.hmac_key]
            .into_iter()
            .flatten()
    }

    pub fn redact(&self, text: &str) -> String {
        self.secrets().fold(text.to_string(), |t, s| s.redact(&t))
    }
}

fn parse_url(name: &str, what: &str, raw: &str, secret: bool) -> Result<reqwest::Url, ConfigError> {
    let err = |m: String| ConfigError::Provider {
        name: name.into(),
        message: m,
    };
    let shown = if secret { "(value hidden)" } else { raw };
    let u =
        reqwest::Url::parse(raw).map_err(|e| err(format!("{what} {shown} is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(err(format!(
            "{what} {shown} must be an http:// or https:// URL with a host"
        )));
    }
    Ok(u)
}

impl ProviderSpec {
    /// Check the declaration and read its secrets.
    pub fn resolve(&self) -> Result<Provider, ConfigError> {
        let name = &self.name;
        let err = |m: &str| ConfigError::Provider {
            name: name.clone(),
            message: m.to_string(),
        };
        let kind = ProviderType::parse(&self.kind).ok_or_else(|| ConfigError::UnknownType {
            name: name.clone(),
            kind: self.kind.clone(),
        })?;
        let what = format!("provider {name:?}");
        let read = |r: &Option<SecretRef>, field: &str| -> Result<Option<Secret>, ConfigError> {
            r.as_ref()
                .map(|r| r.read(&format!("{what} {field}")))
                .transpose()
                .map_err(ConfigError::from)
        };
        let token = read(&self.token, "token")?;
        let hmac_key = read(&self.hmac_key, "hmacKey")?;
        let address = read(&self.address, "address")?;
        let (url, url_secret) = if kind.is_commit_status() {
            let default = match kind {
                ProviderType::GitHub => Some("https://api.github.com"),
                ProviderType::GitLab => Some("https://gitlab.com"),
                _ => None,
            };
            let base = self.base_url.as_deref().or(default).ok_or_else(|| {
                err("a Gitea/Forgejo provider needs `baseUrl:` (the server, e.g. https://codeberg.org)")
            })?;
            if token.is_none() {
                return Err(err(
                    "a commit-status provider needs `token:` (file: or env:)",
                ));
            }
            (parse_url(name, "baseUrl", base, false)?, None)
        } else {
            match (&self.url, address) {
                (Some(_), Some(_)) => return Err(err("give `url:` or `address:`, not both")),
                (Some(u), None) if kind == ProviderType::Webhook => {
                    (parse_url(name, "url", u, false)?, None)
                }
                (Some(_), None) => {
                    return Err(err(
                        "a chat webhook URL holds its token: give it as `address: {file: ...}` or `address: {env: ...}`, not `url:`",
                    ))
                }
                (None, Some(a)) => (parse_url(name, "address", a.expose(), true)?, Some(a)),
                (None, None) => return Err(err("needs `address:` (file: or env:) or, for a webhook, `url:`")),
            }
        };
        if hmac_key.is_some() && kind != ProviderType::Webhook {
            return Err(err("`hmacKey:` is for `type: webhook` only"));
        }
        let timeout = self.timeout_seconds.unwrap_or(5.0);
        if timeout.is_nan() || timeout <= 0.0 || timeout > 300.0 {
            return Err(err("timeoutSeconds must be between 0 and 300"));
        }
        Ok(Provider {
            name: name.clone(),
            kind,
            url,
            url_secret,
            token,
            hmac_key,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            repository: self.repository.clone(),
            timeout: Duration::from_secs_f64(timeout),
            retries: self.retries.unwrap_or(2).min(10),
            backoff: Duration::from_millis(self.backoff_millis.unwrap_or(500)),
        })
    }
}

/// A checked alert.
#[derive(Debug, Clone)]
pub struct Route {
    pub provider: usize,
    pub kinds: Vec<Kind>,
    pub min: Severity,
    pub environments: Vec<String>,
}

impl Route {
    pub fn matches(&self, e: &Event) -> bool {
        self.kinds.contains(&e.kind)
            && (self.min == Severity::Info || e.severity == Severity::Error)
            && (self.environments.is_empty()
                || self.environments.iter().any(|n| n == &e.environment))
    }
}

/// Providers resolved and alerts checked against them.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub providers: Vec<Provider>,
    pub routes: Vec<Route>,
    pub link: Option<String>,
    pub dedup: Duration,
    pub summary_after: u32,
}

impl NotifyConfig {
    /// The `notifications:` mapping of a file (so ferry.yaml itself can be given) or, when it
    /// has none, the whole file.
    pub fn from_yaml(path: &str, text: &str) -> Result<NotifyConfig, ConfigError> {
        let file_err = |message: String| ConfigError::File {
            path: path.into(),
            message,
        };
        let mut doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| file_err(e.to_string()))?;
        let mut prefix = "";
        if let Some(n) = doc.get_mut("notifications") {
            doc = std::mem::replace(n, serde_yaml_ng::Value::Null);
            prefix = "notifications.";
        }
        serde_path_to_error::deserialize(doc)
            .map_err(|e| file_err(format!("{prefix}{}: {}", e.path(), e.inner())))
    }

    pub fn from_value(value: serde_yaml_ng::Value) -> Result<NotifyConfig, ConfigError> {
        serde_path_to_error::deserialize(value).map_err(|e| ConfigError::File {
            path: "notifications".into(),
            message: format!("{}: {}", e.path(), e.inner()),
        })
    }

    /// Resolve every provider (reading its secrets) and check every alert. An alert that
    /// names no provider type's kinds sends each provider the kinds its type takes.
    pub fn resolve(&self) -> Result<Resolved, ConfigError> {
        let providers = self
            .providers
            .iter()
            .map(ProviderSpec::resolve)
            .collect::<Result<Vec<_>, _>>()?;
        let mut routes = Vec::new();
        for (index, a) in self.alerts.iter().enumerate() {
            let mut kinds = Vec::new();
            for k in &a.events {
                kinds.push(Kind::parse(k).ok_or_else(|| ConfigError::Alert {
                    index,
                    message: format!(
                        "unknown event {k:?}; use one of {}",
                        Kind::ALL.map(Kind::name).join(", ")
                    ),
                })?);
            }
            for p in &a.providers {
                let i = providers.iter().position(|x| &x.name == p).ok_or_else(|| {
                    ConfigError::Alert {
                        index,
                        message: format!("no provider named {p:?} under `providers:`"),
                    }
                })?;
                routes.push(Route {
                    provider: i,
                    kinds: if kinds.is_empty() {
                        providers[i].kind.default_kinds()
                    } else {
                        kinds.clone()
                    },
                    min: a.severity.unwrap_or(Severity::Info),
                    environments: a.environments.clone(),
                });
            }
        }
        Ok(Resolved {
            providers,
            routes,
            link: self.link.clone(),
            dedup: Duration::from_secs(self.dedup_seconds.unwrap_or(3600)),
            summary_after: self.summary_after.unwrap_or(10).max(1),
        })
    }
}
