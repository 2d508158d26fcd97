//! The HTTP request a provider sends for an event: built without I/O, so payloads are tested
//! (and snapshot-reviewed) apart from delivery.

use super::chat;
use super::config::{Provider, ProviderType};
use super::event::Event;
use super::status;
use super::webhook;

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub url: reqwest::Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why an event is not sent to a provider (not a failure: the provider does not take it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error("{0}")]
    NotApplicable(String),
}

/// The request for `event` to `p`, or why there is none.
pub fn build(p: &Provider, event: &Event) -> Result<Request, Skip> {
    let json = |v: serde_json::Value| serde_json::to_vec(&v).unwrap_or_default();
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        (
            "user-agent".to_string(),
            format!("ferry/{}", env!("CARGO_PKG_VERSION")),
        ),
    ];
    let (url, body) = match p.kind {
        ProviderType::Slack => (p.url.clone(), json(chat::slack(event))),
        ProviderType::Teams if chat::is_connector_url(&p.url) => {
            (p.url.clone(), json(chat::teams_connector(event)))
        }
        ProviderType::Teams => (p.url.clone(), json(chat::teams(event))),
        ProviderType::TeamsConnector => (p.url.clone(), json(chat::teams_connector(event))),
        ProviderType::Discord => (p.url.clone(), json(chat::discord(event))),
        ProviderType::Webhook => {
            let body = webhook::body(event);
            headers.extend(webhook::headers(p, &body));
            (p.url.clone(), body)
        }
        ProviderType::GitHub | ProviderType::GitLab | ProviderType::Gitea => {
            let s = status::request(p, event)?;
            headers.extend(s.headers);
            (s.url, json(s.body))
        }
    };
    Ok(Request { url, headers, body })
}
