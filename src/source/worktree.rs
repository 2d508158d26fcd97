//! The files as they are on disk (`--worktree`), for building uncommitted changes.

use super::links::{self, Broken};
use super::{EntryKind, Revision, SourceError, Tree};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct WorkTree {
    root: PathBuf,
    /// `root` with every link resolved: what a followed link must stay under.
    real_root: PathBuf,
    revision: Revision,
    digests: Mutex<HashMap<String, String>>,
    /// File names that are not UTF-8, by the text ferry names them with (as Git mode does, `�`
    /// for the bytes that are not), so that reading a listed file finds it.
    raw_names: Mutex<HashMap<String, PathBuf>>,
}

impl WorkTree {
    pub fn open(root: &Path) -> Self {
        let mut revision = Revision {
            worktree: true,
            ..Default::default()
        };
        // The commit the working tree is based on, when there is one; not required.
        if let Ok(git) = super::GitTree::open(root, "HEAD") {
            let r = git.revision();
            revision.commit = r.commit.clone();
            revision.branch = r.branch.clone();
            revision.commit_time = r.commit_time;
        }
        WorkTree {
            root: root.to_path_buf(),
            real_root: root.canonicalize().unwrap_or_else(|_| root.to_path_buf()),
            revision,
            digests: Mutex::new(HashMap::new()),
            raw_names: Mutex::new(HashMap::new()),
        }
    }

    fn abs(&self, path: &str) -> PathBuf {
        if path.is_empty() {
            return self.root.clone();
        }
        match self.raw_names.lock().expect("names lock").get(path) {
            Some(raw) => self.root.join(raw),
            None => self.root.join(path),
        }
    }

    /// Refuses a path reached through a link that leaves the tree, dangles or loops.
    fn check_links(&self, path: &str) -> Result<PathBuf, SourceError> {
        let abs = self.abs(path);
        let rel = abs.strip_prefix(&self.root).unwrap_or(&abs);
        match links::check_path(&self.real_root, rel) {
            Some((link, target, why)) => Err(why.error(&link, &target, &self.origin())),
            None => Ok(abs),
        }
    }

    /// The repository-relative name of a walked path, remembering names that are not UTF-8.
    fn name_of(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let name = rel.to_string_lossy().replace('\\', "/");
        if rel.to_str().is_none() {
            self.raw_names
                .lock()
                .expect("names lock")
                .insert(name.clone(), rel.to_path_buf());
        }
        name
    }

    fn err(&self, path: &str, e: std::io::Error) -> SourceError {
        if e.kind() == std::io::ErrorKind::NotFound {
            SourceError::NotFound {
                path: path.into(),
                origin: self.origin(),
            }
        } else {
            SourceError::Read {
                path: path.into(),
                origin: self.origin(),
                message: e.to_string(),
            }
        }
    }
}

impl Tree for WorkTree {
    fn origin(&self) -> String {
        "the working tree".to_string()
    }

    fn entry(&self, path: &str) -> Option<EntryKind> {
        if self.check_links(path).is_err() {
            // Reading it says why.
            return Some(EntryKind::File);
        }
        let md = std::fs::metadata(self.abs(path)).ok()?;
        Some(if md.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::File
        })
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        if self.entry(path) == Some(EntryKind::Dir) {
            return Err(SourceError::IsDir {
                path: path.into(),
                origin: self.origin(),
            });
        }
        std::fs::read(self.check_links(path)?).map_err(|e| self.err(path, e))
    }

    fn digest(&self, path: &str) -> Result<String, SourceError> {
        if let Some(d) = self.digests.lock().expect("digest cache lock").get(path) {
            return Ok(d.clone());
        }
        let mut h = Sha256::new();
        match self.entry(path) {
            None => {
                return Err(SourceError::NotFound {
                    path: path.into(),
                    origin: self.origin(),
                })
            }
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
        self.digests
            .lock()
            .expect("digest cache lock")
            .insert(path.to_string(), d.clone());
        Ok(d)
    }

    fn files_under(&self, dir: &str) -> Result<Vec<String>, SourceError> {
        match self.entry(dir) {
            Some(EntryKind::File) => return Ok(vec![dir.to_string()]),
            None => {
                return Err(SourceError::NotFound {
                    path: dir.into(),
                    origin: self.origin(),
                })
            }
            Some(EntryKind::Dir) => {}
        }
        let base = self.check_links(dir)?;
        let mut out = Vec::new();
        // Links are followed as Git mode follows them; one that leaves the tree stops the walk
        // before anything behind it is read.
        let mut refused: Option<SourceError> = None;
        let walk = walkdir::WalkDir::new(&base)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                if e.file_name() == ".git" || refused.is_some() {
                    return false;
                }
                if e.path_is_symlink() {
                    let rel = e.path().strip_prefix(&self.root).unwrap_or(e.path());
                    if let Some((link, target, why)) = links::check_path(&self.real_root, rel) {
                        refused = Some(why.error(&link, &target, &self.origin()));
                        return false;
                    }
                }
                true
            });
        let mut failed = None;
        for entry in walk {
            match entry {
                Ok(entry) if entry.file_type().is_file() => out.push(self.name_of(entry.path())),
                Ok(_) => {}
                Err(e) => {
                    let name = e.path().map(|p| self.name_of(p)).unwrap_or_default();
                    let link = e.path().and_then(|p| {
                        links::check_path(&self.real_root, p.strip_prefix(&self.root).ok()?)
                    });
                    failed = Some(if let Some((link, target, why)) = link {
                        why.error(&link, &target, &self.origin())
                    } else if e.loop_ancestor().is_some() {
                        Broken::Loops.error(&name, "an enclosing directory", &self.origin())
                    } else {
                        SourceError::Read {
                            path: dir.into(),
                            origin: self.origin(),
                            message: e.to_string(),
                        }
                    });
                    break;
                }
            }
        }
        if let Some(e) = refused.or(failed) {
            return Err(e);
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
