//! Sending one request with a timeout, retrying what may succeed later: network errors,
//! timeouts, 5xx, and 429 (after its `Retry-After`). A 4xx other than 429 is not retried: the
//! receiver has judged the request itself (bad token, unknown channel, malformed payload) and
//! the same bytes would be refused again.

use super::config::Provider;
use super::request::Request;
use std::time::Duration;

/// The longest `Retry-After` honoured: a receiver asking for more is treated as down.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub status: u16,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("provider {provider:?}: refused with HTTP {status}{}; not retried, a 4xx means the request itself is wrong (check the token, URL and payload): {body}", if *.status == 429 { " (rate limited)" } else { "" })]
    Refused {
        provider: String,
        status: u16,
        body: String,
    },
    #[error("provider {provider:?}: gave up after {attempts} attempts: {last}")]
    GaveUp {
        provider: String,
        attempts: u32,
        last: String,
    },
    #[error("provider {provider:?}: cannot build the request: {message}")]
    Build { provider: String, message: String },
}

/// One HTTP client for every provider: rustls with ring, as the registry client.
pub fn client() -> Result<reqwest::Client, String> {
    // rustls needs one process-wide crypto provider; a second install is a harmless no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())
}

/// An error and its causes on one line ("error sending request: connection refused").
fn causes(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(c) = next {
        let c_text = c.to_string();
        if !s.contains(&c_text) {
            s = format!("{s}: {c_text}");
        }
        next = c.source();
    }
    s
}

fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    let v = r
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A short, printable excerpt of an answer: receivers may echo anything, so it is cut,
/// stripped of control characters and redacted.
fn excerpt(p: &Provider, bytes: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    p.redact(&s)
}

pub async fn send(
    client: &reqwest::Client,
    p: &Provider,
    req: &Request,
) -> Result<Delivered, DeliveryError> {
    let mut attempt = 0u32;
    let mut backoff = p.backoff;
    loop {
        attempt += 1;
        let mut b = client
            .post(req.url.clone())
            .timeout(p.timeout)
            .body(req.body.clone());
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        let (last, wait) = match b.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let after = retry_after(&r);
                if r.status().is_success() {
                    // Drain the body so the connection is reusable; its content does not matter
                    // (a 2xx with garbage is still accepted, as the receivers document).
                    let _ = r.bytes().await;
                    return Ok(Delivered {
                        status,
                        attempts: attempt,
                    });
                }
                let body = excerpt(p, &r.bytes().await.unwrap_or_default());
                if status == 429 {
                    match after {
                        Some(d) if d > MAX_RETRY_AFTER => {
                            return Err(DeliveryError::Refused {
                                provider: p.name.clone(),
                                status,
                                body: format!("Retry-After {}s is too long; {body}", d.as_secs()),
                            })
                        }
                        Some(d) => (format!("HTTP 429 {body}"), d),
                        None => (format!("HTTP 429 {body}"), backoff),
                    }
                } else if (400..500).contains(&status) {
                    return Err(DeliveryError::Refused {
                        provider: p.name.clone(),
                        status,
                        body,
                    });
                } else {
                    (format!("HTTP {status} {body}"), backoff)
                }
            }
            Err(e) => {
                let what = if e.is_timeout() {
                    format!("no answer within {:?}", p.timeout)
                } else if e.is_builder() {
                    return Err(DeliveryError::Build {
                        provider: p.name.clone(),
                        message: p.redact(&e.to_string()),
                    });
                } else {
                    // reqwest's error names the URL, which may be the secret: strip it.
                    p.redact(&causes(&e.without_url()))
                };
                (what, backoff)
            }
        };
        if attempt > p.retries {
            return Err(DeliveryError::GaveUp {
                provider: p.name.clone(),
                attempts: attempt,
                last,
            });
        }
        tokio::time::sleep(wait).await;
        backoff = backoff.saturating_mul(2);
    }
}
