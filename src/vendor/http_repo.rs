//! A chart from a Helm repository over HTTP(S): the repository's `index.yaml`, the entry for
//! the chart's version, and its archive, as `helm pull --repo` fetches them. Basic auth is
//! sent to the repository's own host only (helm's default, without `--pass-credentials`).

use crate::artifact::auth::Credentials;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// Larger than this is not an index or a chart.
const MAX_INDEX: usize = 64 << 20;
const MAX_CHART: usize = 64 << 20;

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    entries: BTreeMap<String, Vec<Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    version: String,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    digest: Option<String>,
}

/// Credentials per host (`HOST[:PORT]=USER:PASSWORD`).
#[derive(Default, Clone)]
pub struct RepoCredentials(pub BTreeMap<String, Credentials>);

impl RepoCredentials {
    /// Parses `HOST=USER:PASSWORD` entries.
    pub fn parse(entries: &[String]) -> Result<RepoCredentials, String> {
        let mut out = BTreeMap::new();
        for e in entries {
            let (host, creds) = e.split_once('=').ok_or_else(|| {
                "--repo-creds: expected HOST=USER:PASSWORD (the value is not shown)".to_string()
            })?;
            let c = Credentials::parse(creds).map_err(|e| format!("--repo-creds {host}: {e}"))?;
            out.insert(host.to_string(), c);
        }
        Ok(RepoCredentials(out))
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    authority.rsplit('@').next().unwrap_or(authority)
}

/// `Ok(body)` of a GET, with basic auth when `creds` has the URL's host.
async fn get(
    client: &reqwest::Client,
    url: &str,
    creds: &RepoCredentials,
    limit: usize,
) -> Result<Vec<u8>, String> {
    let mut req = client.get(url);
    if let Some(c) = creds.0.get(host_of(url)) {
        req = req.basic_auth(&c.username, Some(&c.password));
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", crate::artifact::oci::with_causes(&e)))?;
    let status = resp.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(format!(
            "GET {url}: {status}\nhint: pass --repo-creds {}=USER:PASSWORD (or FERRY_REPO_CREDS)",
            host_of(url)
        ));
    }
    if !status.is_success() {
        return Err(format!("GET {url}: {status}"));
    }
    let mut body = Vec::new();
    let mut resp = resp;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("GET {url}: {}", crate::artifact::oci::with_causes(&e)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(format!("GET {url}: larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A chart URL in an index, relative ones resolved against the repository URL as helm does.
fn resolve(repo: &str, url: &str) -> String {
    if url.contains("://") {
        url.to_string()
    } else {
        format!(
            "{}/{}",
            repo.trim_end_matches('/'),
            url.trim_start_matches('/')
        )
    }
}

/// An HTTP client and a runtime of its own to drive it (vendoring is not async elsewhere).
fn client() -> Result<(reqwest::Client, tokio::runtime::Runtime), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok((client, runtime))
}

/// The entries of chart `name` in the index of the repository at `repo`.
async fn entries(
    client: &reqwest::Client,
    repo: &str,
    name: &str,
    creds: &RepoCredentials,
) -> Result<Vec<Entry>, String> {
    let index_url = format!("{}/index.yaml", repo.trim_end_matches('/'));
    let text = get(client, &index_url, creds, MAX_INDEX).await?;
    let mut index: Index = serde_yaml_ng::from_slice(&text)
        .map_err(|e| format!("{index_url} is not a Helm repository index: {e}"))?;
    index
        .entries
        .remove(name)
        .ok_or_else(|| format!("chart \"{name}\" not found in {repo} repository"))
}

/// Every version of chart `name` the repository at `repo` lists (for resolving a range).
pub fn versions(repo: &str, name: &str, creds: &RepoCredentials) -> Result<Vec<String>, String> {
    let (client, runtime) = client()?;
    runtime.block_on(async {
        Ok(entries(&client, repo, name, creds)
            .await?
            .into_iter()
            .map(|e| e.version)
            .collect())
    })
}

/// The archive of chart `name` at `version` from the repository at `repo`.
pub fn fetch(
    repo: &str,
    name: &str,
    version: &str,
    creds: &RepoCredentials,
) -> Result<Vec<u8>, String> {
    let (client, runtime) = client()?;
    runtime.block_on(async {
        {
            let client = &client;
            let versions = entries(client, repo, name, creds).await?;
            let entry = versions
                .iter()
                .find(|e| e.version == version)
                .ok_or_else(|| {
                    format!("chart \"{name}\" version \"{version}\" not found in {repo} repository")
                })?;
            let url = entry
                .urls
                .first()
                .ok_or_else(|| format!("{repo}/index.yaml: {name} {version} lists no URL"))?;
            let data = get(client, &resolve(repo, url), creds, MAX_CHART).await?;
            if let Some(want) = entry.digest.as_deref().filter(|d| !d.is_empty()) {
                let got = hex::encode(Sha256::digest(&data));
                if got != want.trim_start_matches("sha256:") {
                    return Err(format!(
                        "{url}: the archive's sha256 is {got}, the index says {want}: refusing it"
                    ));
                }
            }
            Ok(data)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_hosts() {
        assert_eq!(resolve("http://h:1/r/", "c-1.tgz"), "http://h:1/r/c-1.tgz");
        assert_eq!(resolve("http://h/r", "https://x/c.tgz"), "https://x/c.tgz");
        assert_eq!(host_of("https://u@h.example:8443/p"), "h.example:8443");
    }
}
