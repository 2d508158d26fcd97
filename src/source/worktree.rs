//! The files as they are on disk (`--worktree`), for building uncommitted changes.

use super::{EntryKind, Revision, SourceError, Tree};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct WorkTree {
    root: PathBuf,
    revision: Revision,
    digests: Mutex<HashMap<String, String>>,
}

impl WorkTree {
    pub fn open(root: &Path) -> Self {
        let mut revision = Revision { worktree: true, ..Default::default() };
        // The commit the working tree is based on, when there is one; not required.
        if let Ok(git) = super::GitTree::open(root, "HEAD") {
            let r = git.revision();
            revision.commit = r.commit.clone();
            revision.branch = r.branch.clone();
            revision.commit_time = r.commit_time;
        }
        WorkTree { root: root.to_path_buf(), revision, digests: Mutex::new(HashMap::new()) }
    }

    fn abs(&self, path: &str) -> PathBuf {
        if path.is_empty() {
            self.root.clone()
        } else {
            self.root.join(path)
        }
    }

    fn err(&self, path: &str, e: std::io::Error) -> SourceError {
        if e.kind() == std::io::ErrorKind::NotFound {
            SourceError::NotFound { path: path.into(), origin: self.origin() }
        } else {
            SourceError::Read { path: path.into(), origin: self.origin(), message: e.to_string() }
        }
    }
}

impl Tree for WorkTree {
    fn origin(&self) -> String {
        "the working tree".to_string()
    }

    fn entry(&self, path: &str) -> Option<EntryKind> {
        let md = std::fs::metadata(self.abs(path)).ok()?;
        Some(if md.is_dir() { EntryKind::Dir } else { EntryKind::File })
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        if self.entry(path) == Some(EntryKind::Dir) {
            return Err(SourceError::IsDir { path: path.into(), origin: self.origin() });
        }
        std::fs::read(self.abs(path)).map_err(|e| self.err(path, e))
    }

    fn digest(&self, path: &str) -> Result<String, SourceError> {
        if let Some(d) = self.digests.lock().expect("digest cache lock").get(path) {
            return Ok(d.clone());
        }
        let mut h = Sha256::new();
        match self.entry(path) {
            None => return Err(SourceError::NotFound { path: path.into(), origin: self.origin() }),
            Some(EntryKind::File) => h.update(self.read(path)?),
            Some(EntryKind::Dir) => {
                for f in self.files_under(path)? {
                    h.update(f.as_bytes());
                    h.update([0]);
                    h.update(Sha256::digest(self.read(&f)?));
                }
            }
        }
        let d = format!("sha256:{}", hex::encode(h.finalize()));
        self.digests.lock().expect("digest cache lock").insert(path.to_string(), d.clone());
        Ok(d)
    }

    fn files_under(&self, dir: &str) -> Result<Vec<String>, SourceError> {
        match self.entry(dir) {
            Some(EntryKind::File) => return Ok(vec![dir.to_string()]),
            None => return Err(SourceError::NotFound { path: dir.into(), origin: self.origin() }),
            Some(EntryKind::Dir) => {}
        }
        let base = self.abs(dir);
        let mut out = Vec::new();
        let walk = walkdir::WalkDir::new(&base)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.file_name() != ".git");
        for entry in walk {
            let entry = entry.map_err(|e| SourceError::Read { path: dir.into(), origin: self.origin(), message: e.to_string() })?;
            if entry.file_type().is_file() {
                let rel = entry.path().strip_prefix(&self.root).unwrap_or(entry.path());
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
        out.sort();
        Ok(out)
    }

    fn materialize(&self) -> Result<PathBuf, SourceError> {
        Ok(self.root.clone())
    }

    fn revision(&self) -> &Revision {
        &self.revision
    }
}
