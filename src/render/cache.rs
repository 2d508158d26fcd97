//! The render cache: content-addressed by a key over every input, self-verifying, atomic.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

const MAGIC: &str = "# ferry-cache v1 sha256:";

/// Renders stored under `DIR/render/<k[0..2]>/<key>`. A disabled cache stores nothing.
#[derive(Debug)]
pub struct Cache {
    dir: Option<PathBuf>,
    corrupt: AtomicUsize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    pub entries: usize,
    pub bytes: u64,
    pub removed: usize,
}

impl Cache {
    pub fn new(dir: Option<PathBuf>) -> Cache {
        Cache { dir, corrupt: AtomicUsize::new(0) }
    }

    /// The default location: `$FERRY_CACHE_DIR`, else `$XDG_CACHE_HOME/ferry`, else `~/.cache/ferry`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("FERRY_CACHE_DIR") {
            return Some(PathBuf::from(d));
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(d).join("ferry"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("ferry"))
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn entry(&self, key: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join("render").join(&key[..2.min(key.len())]).join(key))
    }

    /// How many entries were found corrupt (and dropped) in this run.
    pub fn corrupt_entries(&self) -> usize {
        self.corrupt.load(Ordering::Relaxed)
    }

    /// The stored render for `key`; a damaged entry is removed and reported as a miss.
    pub fn get(&self, key: &str) -> Option<String> {
        let path = self.entry(key)?;
        let data = std::fs::read_to_string(&path).ok()?;
        let verified = data.split_once('\n').and_then(|(head, body)| {
            let want = head.strip_prefix(MAGIC)?;
            (hex::encode(Sha256::digest(body.as_bytes())) == want).then(|| body.to_string())
        });
        if verified.is_none() {
            self.corrupt.fetch_add(1, Ordering::Relaxed);
            let _ = std::fs::remove_file(&path);
        }
        verified
    }

    /// Stores a render. Failures are ignored: the cache only ever saves time.
    pub fn put(&self, key: &str, body: &str) {
        let Some(path) = self.entry(key) else { return };
        let Some(parent) = path.parent() else { return };
        if std::fs::create_dir_all(parent).is_err() {
            return;
        }
        let Ok(mut tmp) = tempfile::NamedTempFile::new_in(parent) else { return };
        let head = format!("{MAGIC}{}\n", hex::encode(Sha256::digest(body.as_bytes())));
        use std::io::Write;
        if tmp.write_all(head.as_bytes()).is_ok() && tmp.write_all(body.as_bytes()).is_ok() {
            let _ = tmp.persist(&path);
        }
    }

    /// Removes entries not used for `older_than` (all of them with `None`).
    pub fn prune(&self, older_than: Option<Duration>) -> std::io::Result<CacheStats> {
        let mut stats = CacheStats::default();
        let Some(dir) = &self.dir else { return Ok(stats) };
        let root = dir.join("render");
        if !root.exists() {
            return Ok(stats);
        }
        let now = SystemTime::now();
        for e in walkdir::WalkDir::new(&root).into_iter().filter_map(Result::ok) {
            if !e.file_type().is_file() {
                continue;
            }
            let md = e.metadata().map_err(std::io::Error::other)?;
            let age = md.modified().ok().and_then(|m| now.duration_since(m).ok()).unwrap_or_default();
            if older_than.is_none_or(|limit| age >= limit) {
                std::fs::remove_file(e.path())?;
                stats.removed += 1;
            } else {
                stats.entries += 1;
                stats.bytes += md.len();
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_is_a_miss() {
        let d = tempfile::tempdir().expect("tempdir");
        let c = Cache::new(Some(d.path().to_path_buf()));
        assert_eq!(c.get("abcd"), None);
        c.put("abcd", "kind: X\n");
        assert_eq!(c.get("abcd").as_deref(), Some("kind: X\n"));
        let p = d.path().join("render/ab/abcd");
        let text = std::fs::read_to_string(&p).expect("entry");
        std::fs::write(&p, text.replace("kind: X", "kind: Y")).expect("write");
        assert_eq!(c.get("abcd"), None);
        assert_eq!(c.corrupt_entries(), 1);
        assert!(!p.exists(), "a corrupt entry is dropped");
    }

    #[test]
    fn prune_all() {
        let d = tempfile::tempdir().expect("tempdir");
        let c = Cache::new(Some(d.path().to_path_buf()));
        c.put("k1", "a");
        c.put("k2", "b");
        assert_eq!(c.prune(Some(Duration::from_secs(3600))).expect("prune").entries, 2);
        assert_eq!(c.prune(None).expect("prune").removed, 2);
        assert_eq!(c.get("k1"), None);
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let c = Cache::new(None);
        c.put("k", "v");
        assert_eq!(c.get("k"), None);
    }
}
