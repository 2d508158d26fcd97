//! A commit's tree, read with gix from the local object database. Never touches the network.

use super::links::{self, Broken, Node};
use super::{EntryKind, Revision, SourceError, Tree};
use gix::bstr::ByteSlice;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Debug, Clone)]
struct Entry {
    oid: gix::ObjectId,
    kind: EntryKind,
    /// Reached through a symbolic link: a directory holding one has no single tree id.
    linked: bool,
}

impl Node for Entry {
    fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }
    fn via_link(&self) -> Entry {
        Entry {
            linked: true,
            ..self.clone()
        }
    }
}

/// The files of one commit, indexed once by path so that lookups and digests cost nothing.
/// Cloning shares them.
#[derive(Clone)]
pub struct GitTree(std::sync::Arc<Inner>);

/// What a [`GitTree`] shares between its clones.
pub struct Inner {
    repo: gix::ThreadSafeRepository,
    /// Thread-local handles, reused: making one per read cost more than the read itself.
    handles: std::sync::Mutex<Vec<gix::Repository>>,
    entries: BTreeMap<String, Entry>,
    /// Links not followed (leaving the tree, dangling, looping), with their target.
    broken: BTreeMap<String, (String, Broken)>,
    /// Whether any entry was reached through a link.
    followed_links: bool,
    root: gix::ObjectId,
    revision: Revision,
    /// Removed on drop, and on Ctrl-C while the build runs ([`crate::tempfiles`]).
    checkout: OnceLock<Result<crate::tempfiles::Tracked<tempfile::TempDir>, String>>,
}

impl GitTree {
    /// Opens the repository that contains `dir` and reads the tree of `rev` (e.g. `HEAD`, a branch,
    /// a tag or a commit id). When `dir` is below the top of the repository, the tree is rooted
    /// at `dir`: a pipeline may live in a subdirectory of a larger repository.
    pub fn open(dir: &Path, rev: &str) -> Result<Self, SourceError> {
        let repo = gix::discover(dir).map_err(|e| SourceError::NotARepo {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let rev_err = |message: String| SourceError::Revision {
            rev: rev.to_string(),
            message,
        };
        let id = repo.rev_parse_single(rev).map_err(|e| {
            // A fresh `git init`: HEAD names a branch that does not exist yet.
            match repo.head() {
                Ok(head) if head.is_unborn() && (rev == "HEAD" || head_is(&head, rev)) => {
                    SourceError::NoCommit {
                        path: repo.workdir().unwrap_or(dir).to_path_buf(),
                        branch: head
                            .referent_name()
                            .map(|n| n.shorten().to_str_lossy().into_owned())
                            .unwrap_or_else(|| "HEAD".into()),
                        rev: rev.to_string(),
                    }
                }
                _ => rev_err(e.to_string()),
            }
        })?;
        let commit = id
            .object()
            .map_err(|e| rev_err(e.to_string()))?
            .peel_to_commit()
            .map_err(|e| rev_err(format!("not a commit: {e}")))?;
        let commit_time = commit.time().map_err(|e| rev_err(e.to_string()))?.seconds;
        let tree = commit.tree().map_err(|e| rev_err(e.to_string()))?;
        let mut rec = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut rec)
            .map_err(|e| rev_err(format!("cannot read the commit's tree: {e}")))?;
        let prefix = subdir_of(&repo, dir);
        let mut root = tree.id;
        let mut entries = BTreeMap::new();
        let mut links = Vec::new();
        for r in rec.records {
            let full = r.filepath.to_str_lossy().into_owned();
            let path = if prefix.is_empty() {
                full
            } else if full == prefix {
                root = r.oid;
                continue;
            } else if let Some(rest) = full.strip_prefix(&format!("{prefix}/")) {
                rest.to_string()
            } else {
                continue;
            };
            let kind = if r.mode.is_tree() {
                EntryKind::Dir
            } else if r.mode.is_blob() {
                EntryKind::File
            } else if r.mode.is_link() {
                links.push((path, r.oid));
                continue;
            } else {
                continue; // submodules are not part of what ferry renders
            };
            entries.insert(
                path,
                Entry {
                    oid: r.oid,
                    kind,
                    linked: false,
                },
            );
        }
        let mut targets = Vec::new();
        for (path, oid) in links {
            let target = repo
                .find_blob(oid)
                .map_err(|e| rev_err(format!("cannot read the symbolic link `{path}`: {e}")))?;
            targets.push((path, target.data.to_str_lossy().into_owned()));
        }
        let broken = links::resolve(&mut entries, targets);
        let branch = branch_of(&repo, rev);
        if !prefix.is_empty() && root == tree.id {
            return Err(rev_err(format!(
                "`{prefix}` does not exist in this commit; commit it first, or pass `--worktree`"
            )));
        }
        let commit_id = commit.id.to_string();
        drop(tree);
        drop(commit);
        Ok(GitTree(std::sync::Arc::new(Inner {
            root,
            followed_links: entries.values().any(|e| e.linked),
            entries,
            broken,
            revision: Revision {
                commit: Some(commit_id),
                branch,
                commit_time: Some(commit_time),
                worktree: false,
            },
            repo: repo.into_sync(),
            checkout: OnceLock::new(),
            handles: std::sync::Mutex::new(Vec::new()),
        })))
    }

    fn lookup(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// The error for a link not followed at `path`, above it, or (`below`) inside it.
    fn broken_link(&self, path: &str, below: bool) -> Result<(), SourceError> {
        match links::broken_at(&self.broken, path, below) {
            Some((link, (target, why))) => Err(why.error(link, target, &self.origin())),
            None => Ok(()),
        }
    }

    fn blob(&self, path: &str, oid: gix::ObjectId) -> Result<Vec<u8>, SourceError> {
        let pooled = self.handles.lock().ok().and_then(|mut h| h.pop());
        let repo = pooled.unwrap_or_else(|| self.repo.to_thread_local());
        let data = repo
            .find_blob(oid)
            .map(|mut b| b.take_data())
            .map_err(|e| SourceError::Read {
                path: path.to_string(),
                origin: self.origin(),
                message: e.to_string(),
            });
        if let Ok(mut h) = self.handles.lock() {
            h.push(repo);
        }
        data
    }
}

/// Whether the unborn HEAD names the branch `rev`.
fn head_is(head: &gix::Head<'_>, rev: &str) -> bool {
    head.referent_name()
        .is_some_and(|n| n.shorten().to_str_lossy() == rev || n.as_bstr().to_str_lossy() == rev)
}

/// `dir` relative to the repository's work tree, `/`-separated; empty at the top.
fn subdir_of(repo: &gix::Repository, dir: &Path) -> String {
    let (Some(work), Ok(dir)) = (repo.workdir(), dir.canonicalize()) else {
        return String::new();
    };
    let work = work.canonicalize().unwrap_or_else(|_| work.to_path_buf());
    dir.strip_prefix(&work)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default()
}

/// The branch being built: `rev` itself when it names a local branch, else HEAD's branch when
/// `rev` is `HEAD`.
fn branch_of(repo: &gix::Repository, rev: &str) -> Option<String> {
    if rev == "HEAD" {
        return repo
            .head_name()
            .ok()
            .flatten()
            .map(|n| n.shorten().to_str_lossy().into_owned());
    }
    let full = format!("refs/heads/{rev}");
    repo.try_find_reference(full.as_str())
        .ok()
        .flatten()
        .map(|_| rev.to_string())
}

impl std::ops::Deref for GitTree {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Tree for GitTree {
    fn origin(&self) -> String {
        format!("commit {}", self.revision.short_commit().unwrap_or("?"))
    }

    fn entry(&self, path: &str) -> Option<EntryKind> {
        if path.is_empty() {
            return Some(EntryKind::Dir);
        }
        if self.broken_link(path, false).is_err() {
            // Reading it says why.
            return Some(EntryKind::File);
        }
        self.lookup(path).map(|e| e.kind)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.broken_link(path, false)?;
        match self.lookup(path) {
            Some(Entry {
                oid,
                kind: EntryKind::File,
                ..
            }) => self.blob(path, *oid),
            Some(_) => Err(SourceError::IsDir {
                path: path.into(),
                origin: self.origin(),
            }),
            None => Err(SourceError::NotFound {
                path: path.into(),
                origin: self.origin(),
            }),
        }
    }

    fn digest(&self, path: &str) -> Result<String, SourceError> {
        self.broken_link(path, true)?;
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        // Most trees hold no link: then no scan.
        let linked = self.followed_links
            && self
                .entries
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .any(|(_, e)| e.linked);
        if linked && self.entry(path) == Some(EntryKind::Dir) {
            // The tree id covers the link, not what it points to: digest the files instead.
            let mut h = Sha256::new();
            for f in self.files_under(path)? {
                let e = &self.entries[&f];
                h.update(format!("{f}\0{}\n", e.oid));
            }
            return Ok(format!("git-linked:{}", hex::encode(h.finalize())));
        }
        if path.is_empty() {
            return Ok(format!("git:{}", self.root));
        }
        self.lookup(path)
            .map(|e| format!("git:{}", e.oid))
            .ok_or_else(|| SourceError::NotFound {
                path: path.into(),
                origin: self.origin(),
            })
    }

    fn files_under(&self, dir: &str) -> Result<Vec<String>, SourceError> {
        self.broken_link(dir, true)?;
        match self.entry(dir) {
            Some(EntryKind::Dir) => {}
            Some(EntryKind::File) => return Ok(vec![dir.to_string()]),
            None => {
                return Err(SourceError::NotFound {
                    path: dir.into(),
                    origin: self.origin(),
                })
            }
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        Ok(self
            .entries
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(_, e)| e.kind == EntryKind::File)
            .map(|(p, _)| p.clone())
            .collect())
    }

    fn materialize(&self) -> Result<PathBuf, SourceError> {
        let result = self.checkout.get_or_init(|| {
            let dir = crate::tempfiles::track(
                || {
                    tempfile::Builder::new()
                        .prefix(&crate::tempfiles::prefix("checkout"))
                        .tempdir()
                },
                |d| d.path().to_path_buf(),
            )
            .map_err(|e| e.to_string())?;
            for (p, e) in &self.entries {
                if e.kind == EntryKind::Dir {
                    std::fs::create_dir_all(dir.path().join(p)).map_err(|e| e.to_string())?;
                }
            }
            self.entries
                .par_iter()
                .filter(|(_, e)| e.kind == EntryKind::File)
                .try_for_each(|(p, e)| {
                    let data = self.blob(p, e.oid).map_err(|e| e.to_string())?;
                    std::fs::write(dir.path().join(p), data).map_err(|e| format!("{p}: {e}"))
                })?;
            Ok(dir)
        });
        match result {
            Ok(d) => Ok(d.path().to_path_buf()),
            Err(message) => Err(SourceError::Materialize {
                origin: self.origin(),
                message: message.clone(),
            }),
        }
    }

    fn revision(&self) -> &Revision {
        &self.revision
    }

    fn shared(&self) -> Option<std::sync::Arc<dyn Tree>> {
        (!self.followed_links && self.broken.is_empty())
            .then(|| std::sync::Arc::new(self.clone()) as std::sync::Arc<dyn Tree>)
    }
}
