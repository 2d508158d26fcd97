//! `ferry images scan`: list the tags of every policy's image repository (in parallel, with a
//! bound), pick the latest under each policy and resolve its digest. Tag lists and digests are
//! cached on disk for a TTL so that a scan followed by an update asks the registry once.

use super::name::ImageName;
use super::policy::{Policies, Policy, Skipped};
use super::registry::{Client, ClientOptions, RegistryError};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub client: ClientOptions,
    /// Repositories listed at once.
    pub concurrency: usize,
    /// Where tag lists are cached (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// How long a cached list counts as fresh.
    pub ttl: Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            client: ClientOptions::default(),
            concurrency: 16,
            cache_dir: None,
            ttl: Duration::from_secs(300),
        }
    }
}

/// A fresh digest found while deciding: (repository, tag, digest), remembered in the cache.
type Found = Option<(ImageName, String, String)>;

/// One repository's tags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepoTags {
    pub image: String,
    /// Seconds since the epoch when the registry was asked.
    pub fetched: u64,
    pub tags: Vec<String>,
    pub pages: usize,
    /// Digests resolved so far, by tag.
    #[serde(default)]
    pub digests: BTreeMap<String, String>,
    #[serde(skip)]
    pub from_cache: bool,
}

/// What a policy decides.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub policy: String,
    /// The environment whose override this is; `None` for the base policy.
    pub environment: Option<String>,
    pub image: String,
    pub rule: String,
    pub latest: Option<String>,
    pub digest: Option<String>,
    pub reason: String,
    pub tags: usize,
    pub pages: usize,
    pub skipped: Skipped,
    pub cached: bool,
    pub error: Option<String>,
}

/// The result of a scan: a decision per policy (and per environment override).
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub decisions: Vec<Decision>,
}

impl ScanReport {
    pub fn get(&self, policy: &str, env: Option<&str>) -> Option<&Decision> {
        self.decisions
            .iter()
            .find(|d| d.policy == policy && d.environment.as_deref() == env)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.error.is_some())
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn cache_file(dir: &std::path::Path, image: &ImageName) -> PathBuf {
    let key = hex::encode(Sha256::digest(image.to_string().as_bytes()));
    dir.join("images").join(format!("{}.json", &key[..32]))
}

fn read_cache(opts: &ScanOptions, image: &ImageName) -> Option<RepoTags> {
    let dir = opts.cache_dir.as_ref()?;
    let bytes = std::fs::read(cache_file(dir, image)).ok()?;
    let mut t: RepoTags = serde_json::from_slice(&bytes).ok()?;
    let fresh =
        t.image == image.to_string() && now().saturating_sub(t.fetched) < opts.ttl.as_secs();
    fresh.then(|| {
        t.from_cache = true;
        t
    })
}

/// Writes the cache entry atomically; a cache that cannot be written only costs a request.
fn write_cache(opts: &ScanOptions, image: &ImageName, t: &RepoTags) {
    let Some(dir) = &opts.cache_dir else { return };
    let path = cache_file(dir, image);
    let Some(parent) = path.parent() else { return };
    if std::fs::create_dir_all(parent).is_err() {
        return;
    }
    if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(parent) {
        use std::io::Write;
        if serde_json::to_writer(&mut tmp, t).is_ok() && tmp.flush().is_ok() {
            let _ = tmp.persist(&path);
        }
    }
}

async fn list(
    client: &Client,
    opts: &ScanOptions,
    image: &ImageName,
) -> Result<RepoTags, RegistryError> {
    if let Some(t) = read_cache(opts, image) {
        return Ok(t);
    }
    let list = client.tags(image).await?;
    Ok(RepoTags {
        image: image.to_string(),
        fetched: now(),
        tags: list.tags,
        pages: list.pages,
        digests: BTreeMap::new(),
        from_cache: false,
    })
}

/// Scans every policy of `policies`.
///
/// # Errors
/// Only when the network runtime cannot start; registry errors are per decision.
pub fn scan(policies: &Policies, opts: &ScanOptions) -> Result<ScanReport, RegistryError> {
    let all = policies.all();
    let mut images: Vec<ImageName> = all.iter().map(|(_, p)| p.repo.clone()).collect();
    images.sort();
    images.dedup();
    let client = Client::new(opts.client.clone())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RegistryError::Request {
            image: String::new(),
            what: "starting the network runtime".into(),
            message: e.to_string(),
        })?;
    runtime.block_on(async {
        // Tags first, all repositories at once (bounded).
        let listed: HashMap<ImageName, Result<RepoTags, String>> = stream::iter(images)
            .map(|image| {
                let client = &client;
                async move {
                    let r = list(client, opts, &image).await.map_err(|e| e.to_string());
                    (image, r)
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        // Then decisions, and the digest of each chosen tag (bounded as well).
        let jobs: Vec<(Option<&str>, &Policy)> = all;
        let listed = &listed;
        let decisions: Vec<(Decision, Found)> = stream::iter(jobs)
            .map(|(env, p)| {
                let client = &client;
                async move { decide(client, listed, env, p).await }
            })
            .buffered(opts.concurrency.max(1))
            .collect()
            .await;
        // Remember fresh digests with the tag lists.
        let mut per_image: HashMap<ImageName, RepoTags> = HashMap::new();
        for (_, found) in &decisions {
            if let Some((image, tag, digest)) = found {
                if let Some(Ok(t)) = listed.get(image) {
                    per_image
                        .entry(image.clone())
                        .or_insert_with(|| t.clone())
                        .digests
                        .insert(tag.clone(), digest.clone());
                }
            }
        }
        for (image, t) in listed {
            if let Ok(t) = t {
                let t = per_image.get(image).unwrap_or(t);
                if !t.from_cache || per_image.contains_key(image) {
                    write_cache(opts, image, t);
                }
            }
        }
        Ok(ScanReport {
            decisions: decisions.into_iter().map(|(d, _)| d).collect(),
        })
    })
}

async fn decide(
    client: &Client,
    listed: &HashMap<ImageName, Result<RepoTags, String>>,
    env: Option<&str>,
    p: &Policy,
) -> (Decision, Found) {
    let mut d = Decision {
        policy: p.name.clone(),
        environment: env.map(str::to_string),
        image: p.image.clone(),
        rule: p.describe(),
        latest: None,
        digest: None,
        reason: String::new(),
        tags: 0,
        pages: 0,
        skipped: Skipped::default(),
        cached: false,
        error: None,
    };
    let tags = match listed.get(&p.repo) {
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            d.error = Some(e.clone());
            return (d, None);
        }
        None => {
            d.error = Some("not listed".into());
            return (d, None);
        }
    };
    d.tags = tags.tags.len();
    d.pages = tags.pages;
    d.cached = tags.from_cache;
    let choice = match p.choose(&tags.tags) {
        Ok(c) => c,
        Err(e) => {
            d.skipped = e.skipped.clone();
            d.error = Some(e.to_string());
            return (d, None);
        }
    };
    d.reason = p.reason(&choice);
    d.skipped = choice.skipped.clone();
    d.latest = Some(choice.tag.clone());
    if let Some(dg) = tags.digests.get(&choice.tag) {
        d.digest = Some(dg.clone());
        return (d, None);
    }
    match client.digest(&p.repo, &choice.tag).await {
        Ok(dg) => {
            d.digest = Some(dg.clone());
            (d, Some((p.repo.clone(), choice.tag, dg)))
        }
        Err(e) => {
            d.error = Some(e.to_string());
            (d, None)
        }
    }
}
