//! The two distribution API calls image automation needs: list a repository's tags
//! (`GET /v2/<name>/tags/list?n=N`, following the `Link: <...>; rel="next"` header page by
//! page) and read a tag's manifest to learn its digest. Credentials come from
//! `crate::artifact::auth` (`--creds`, Docker's config and credential helpers), as for push and
//! pull; the registry's challenge decides how they are sent: HTTP Basic, or the bearer token
//! flow (a token for `repository:<name>:pull` from the realm the challenge names). Anonymous
//! access is tried first, so public images need nothing.
//!
//! `oci-client` (what push and pull use) reads only the first page of a tag list and hides the
//! response headers, hence this small client on the same HTTP stack (reqwest, rustls/ring).

use super::name::ImageName;
use crate::artifact::auth::{self, Credentials};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
/// A manifest or tag page larger than this is refused.
const MAX_BODY: usize = 8 << 20;
/// Pages of one tag list; a registry that links on and on is cut off here.
const MAX_PAGES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("listing the tags of {image} needs the network, and ferry is offline (--offline or FERRY_OFFLINE)\nhint: drop --offline / unset FERRY_OFFLINE")]
    Offline { image: String },
    #[error("{image}: access denied ({status})\nhint: pass --creds USER:PASSWORD, set FERRY_REGISTRY_CREDS, or log in with `docker login {registry}`")]
    Unauthorized {
        image: String,
        registry: String,
        status: u16,
    },
    #[error("{image}: {what}: not found")]
    NotFound { image: String, what: String },
    #[error("{image}: {what}: {message}")]
    Request {
        image: String,
        what: String,
        message: String,
    },
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
}

/// How to reach registries: what push and pull use (offline, plain HTTP, `--creds`, retries),
/// and the size of a tag page.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub registry: crate::artifact::RegistryOptions,
    /// `n=` of each tag page.
    pub page_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            registry: crate::artifact::RegistryOptions::default(),
            page_size: 100,
        }
    }
}

/// A tag list and how it was read.
#[derive(Debug, Clone)]
pub struct TagList {
    pub tags: Vec<String>,
    pub pages: usize,
}

#[derive(Clone)]
enum Scheme {
    Basic(String),
    Bearer(String),
}

/// A client for any number of registries; tokens and credentials are remembered per
/// repository and per registry.
pub struct Client {
    http: reqwest::Client,
    opts: ClientOptions,
    creds: Mutex<HashMap<String, Option<Credentials>>>,
    auth: Mutex<HashMap<String, Scheme>>,
}

struct Challenge {
    bearer: bool,
    params: HashMap<String, String>,
}

/// Parses `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`.
fn parse_challenge(h: &str) -> Option<Challenge> {
    let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
    let bearer = scheme.eq_ignore_ascii_case("bearer");
    if !bearer && !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let mut params = HashMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let Some((k, v)) = s.split_once('=') else {
            break;
        };
        let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let v = v.trim_start();
        let (value, tail) = if let Some(q) = v.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (q[..end].to_string(), &q[end + 1..]),
                None => (q.to_string(), ""),
            }
        } else {
            match v.find(',') {
                Some(end) => (v[..end].trim().to_string(), &v[end..]),
                None => (v.trim().to_string(), ""),
            }
        };
        params.insert(k, value);
        s = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge { bearer, params })
}

/// The `rel="next"` target of a Link header.
fn next_link(h: &str) -> Option<String> {
    h.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let rel_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        rel_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

impl Client {
    /// # Errors
    /// The HTTP stack cannot start.
    pub fn new(opts: ClientOptions) -> Result<Client, RegistryError> {
        // rustls needs one process-wide crypto provider; a second install is a harmless no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Request {
                image: String::new(),
                what: "starting the HTTP client".into(),
                message: e.to_string(),
            })?;
        Ok(Client {
            http,
            opts,
            creds: Mutex::new(HashMap::new()),
            auth: Mutex::new(HashMap::new()),
        })
    }

    fn base(&self, image: &ImageName) -> String {
        let scheme = if self.opts.registry.insecure || image.is_loopback() {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}", image.api_host())
    }

    fn credentials(&self, image: &ImageName) -> Result<Option<Credentials>, RegistryError> {
        let mut map = self.creds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(&image.registry) {
            return Ok(c.clone());
        }
        let c = auth::resolve(self.opts.registry.credentials.as_ref(), &image.registry)?;
        map.insert(image.registry.clone(), c.clone());
        Ok(c)
    }

    fn request_error(image: &ImageName, what: &str, e: &reqwest::Error) -> RegistryError {
        let message = crate::artifact::oci::with_causes(e);
        RegistryError::Request {
            image: image.to_string(),
            what: what.to_string(),
            message,
        }
    }

    /// One GET with retries on transient failures.
    async fn send(
        &self,
        image: &ImageName,
        what: &str,
        url: &str,
        accept: Option<&str>,
        scheme: Option<&Scheme>,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut wait = self.opts.registry.backoff;
        let mut attempt = 1;
        loop {
            let mut req = self.http.get(url);
            if let Some(a) = accept {
                req = req.header(reqwest::header::ACCEPT, a);
            }
            match scheme {
                Some(Scheme::Basic(b)) => req = req.header("Authorization", format!("Basic {b}")),
                Some(Scheme::Bearer(t)) => req = req.bearer_auth(t),
                None => {}
            }
            let result = req.send().await;
            let transient = match &result {
                Ok(r) => r.status().is_server_error() || r.status().as_u16() == 429,
                Err(e) => e.is_connect() || e.is_timeout(),
            };
            if transient && attempt < self.opts.registry.attempts.max(1) {
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
                continue;
            }
            return result.map_err(|e| Self::request_error(image, what, &e));
        }
    }

    async fn token(
        &self,
        image: &ImageName,
        ch: &Challenge,
        creds: Option<&Credentials>,
    ) -> Result<String, RegistryError> {
        let what = "getting a registry token";
        let realm = ch
            .params
            .get("realm")
            .ok_or_else(|| RegistryError::Request {
                image: image.to_string(),
                what: what.into(),
                message: "the Bearer challenge names no realm".into(),
            })?;
        let scope = format!("repository:{}:pull", image.repository);
        let mut req = self.http.get(realm).query(&[("scope", scope.as_str())]);
        if let Some(service) = ch.params.get("service") {
            req = req.query(&[("service", service.as_str())]);
        }
        if let Some(c) = creds {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Self::request_error(image, what, &e))?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(RegistryError::Unauthorized {
                image: image.to_string(),
                registry: image.registry.clone(),
                status,
            });
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| Self::request_error(image, what, &e))?;
        #[derive(serde::Deserialize)]
        struct Token {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let t: Token = serde_json::from_slice(&body).map_err(|e| RegistryError::Request {
            image: image.to_string(),
            what: what.into(),
            message: format!("status {status}, unreadable answer: {e}"),
        })?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| RegistryError::Request {
                image: image.to_string(),
                what: what.into(),
                message: format!("status {status}, no token in the answer"),
            })
    }

    /// GET `url`, answering the registry's challenge once; the response has status 2xx.
    async fn get(
        &self,
        image: &ImageName,
        what: &str,
        url: &str,
        accept: Option<&str>,
    ) -> Result<reqwest::Response, RegistryError> {
        let key = image.to_string();
        let known = self
            .auth
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let mut resp = self.send(image, what, url, accept, known.as_ref()).await?;
        if resp.status().as_u16() == 401 {
            let challenge = resp
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|h| h.to_str().ok())
                .and_then(parse_challenge);
            let creds = self.credentials(image)?;
            let scheme = match challenge {
                Some(ch) if ch.bearer => Some(Scheme::Bearer(
                    self.token(image, &ch, creds.as_ref()).await?,
                )),
                Some(_) => creds
                    .as_ref()
                    .map(|c| Scheme::Basic(B64.encode(format!("{}:{}", c.username, c.password)))),
                None => None,
            };
            if let Some(s) = scheme {
                resp = self.send(image, what, url, accept, Some(&s)).await?;
                if resp.status().is_success() {
                    self.auth
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key, s);
                }
            }
        }
        let status = resp.status().as_u16();
        match status {
            200..=299 => Ok(resp),
            401 | 403 => Err(RegistryError::Unauthorized {
                image: image.to_string(),
                registry: image.registry.clone(),
                status,
            }),
            404 => Err(RegistryError::NotFound {
                image: image.to_string(),
                what: what.to_string(),
            }),
            _ => {
                let body = resp.text().await.unwrap_or_default();
                Err(RegistryError::Request {
                    image: image.to_string(),
                    what: what.to_string(),
                    message: format!(
                        "status {status}: {}",
                        body.trim().chars().take(300).collect::<String>()
                    ),
                })
            }
        }
    }

    async fn body(
        image: &ImageName,
        what: &str,
        resp: reqwest::Response,
    ) -> Result<Vec<u8>, RegistryError> {
        if resp.content_length().is_some_and(|l| l as usize > MAX_BODY) {
            return Err(RegistryError::Request {
                image: image.to_string(),
                what: what.into(),
                message: format!("larger than {MAX_BODY} bytes"),
            });
        }
        let b = resp
            .bytes()
            .await
            .map_err(|e| Self::request_error(image, what, &e))?;
        if b.len() > MAX_BODY {
            return Err(RegistryError::Request {
                image: image.to_string(),
                what: what.into(),
                message: format!("larger than {MAX_BODY} bytes"),
            });
        }
        Ok(b.to_vec())
    }

    /// Every tag of `image`, page by page.
    ///
    /// # Errors
    /// Offline, refused, not found, unreadable pages.
    pub async fn tags(&self, image: &ImageName) -> Result<TagList, RegistryError> {
        if self.opts.registry.offline {
            return Err(RegistryError::Offline {
                image: image.to_string(),
            });
        }
        let base = self.base(image);
        let mut url = format!(
            "{base}/v2/{}/tags/list?n={}",
            image.repository,
            self.opts.page_size.max(1)
        );
        let mut tags = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            let what = format!("listing tags (page {pages})");
            let resp = self.get(image, &what, &url, None).await?;
            let next = resp
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|h| h.to_str().ok())
                .and_then(next_link);
            let body = Self::body(image, &what, resp).await?;
            #[derive(serde::Deserialize)]
            struct Page {
                #[serde(default)]
                tags: Option<Vec<String>>,
            }
            let page: Page = serde_json::from_slice(&body).map_err(|e| RegistryError::Request {
                image: image.to_string(),
                what: what.clone(),
                message: format!("unreadable answer: {e}"),
            })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(n) if pages < MAX_PAGES => {
                    url = if n.starts_with("http://") || n.starts_with("https://") {
                        n
                    } else {
                        format!("{base}{n}")
                    };
                }
                Some(_) => {
                    return Err(RegistryError::Request {
                        image: image.to_string(),
                        what,
                        message: format!("more than {MAX_PAGES} pages of tags"),
                    })
                }
                None => break,
            }
        }
        Ok(TagList { tags, pages })
    }

    /// The digest of the manifest `tag` names (an index for multi-platform images), computed
    /// from the bytes received.
    ///
    /// # Errors
    /// Offline, refused, not found.
    pub async fn digest(&self, image: &ImageName, tag: &str) -> Result<String, RegistryError> {
        if self.opts.registry.offline {
            return Err(RegistryError::Offline {
                image: image.to_string(),
            });
        }
        let what = format!("reading the manifest of {tag}");
        let url = format!(
            "{}/v2/{}/manifests/{tag}",
            self.base(image),
            image.repository
        );
        let resp = self.get(image, &what, &url, Some(MANIFEST_ACCEPT)).await?;
        let body = Self::body(image, &what, resp).await?;
        Ok(format!("sha256:{}", hex::encode(Sha256::digest(&body))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        )
        .expect("bearer");
        assert!(c.bearer);
        assert_eq!(c.params["realm"], "https://auth.example/token");
        assert_eq!(c.params["scope"], "repository:a/b:pull");
        let c = parse_challenge(r#"Basic realm="Registry Realm""#).expect("basic");
        assert!(!c.bearer);
        assert!(parse_challenge("Negotiate").is_none());
    }

    #[test]
    fn link_header() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=100>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=100")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }
}
