//! Where the repository's files come from: a Git commit read with gix (offline), or the working
//! tree. Renderers see both through [`Tree`], so the rest of ferry never knows which it is.

mod git;
pub mod links;
mod revision;
mod worktree;

pub use git::GitTree;
pub use revision::{rfc3339, Revision};
pub use worktree::WorkTree;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("`{path}` does not exist in {origin}")]
    NotFound { path: String, origin: String },
    #[error("`{path}` is a directory in {origin}, a file was expected")]
    IsDir { path: String, origin: String },
    #[error("cannot read `{path}` in {origin}: {message}")]
    Read {
        path: String,
        origin: String,
        message: String,
    },
    #[error("{path} is not a Git repository: {message}\nhint: run ferry inside a Git checkout, or pass `--worktree` to build the files as they are on disk")]
    NotARepo { path: PathBuf, message: String },
    #[error("`{path}` in {origin} is a symbolic link to `{target}`, {}\nhint: {}", why.describe(), why.hint())]
    Link {
        path: String,
        target: String,
        origin: String,
        why: links::Broken,
    },
    #[error("the repository at {} has no commit yet (branch `{branch}` is unborn), so there is no `{rev}` to build\nhint: commit the files first, or pass `--worktree` to build them as they are on disk", path.display())]
    NoCommit {
        path: PathBuf,
        branch: String,
        rev: String,
    },
    #[error("revision `{rev}` cannot be resolved: {message}")]
    Revision { rev: String, message: String },
    #[error("cannot write the checkout of {origin} to a temporary directory: {message}")]
    Materialize { origin: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// A read-only view of the repository's files at one revision. Paths are repository-relative,
/// `/`-separated and normalised (see [`normalize`]).
pub trait Tree: Send + Sync {
    /// Describes the source in messages, e.g. `commit 1a2b3c4` or `the working tree`.
    fn origin(&self) -> String;
    fn entry(&self, path: &str) -> Option<EntryKind>;
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;
    /// A content digest of a file or of a whole directory; equal content, equal digest.
    fn digest(&self, path: &str) -> Result<String, SourceError>;
    /// Every file under `dir`, recursively, sorted.
    fn files_under(&self, dir: &str) -> Result<Vec<String>, SourceError>;
    /// A directory holding the tree's files, for tools that read the file system. Created once.
    fn materialize(&self) -> Result<PathBuf, SourceError>;
    fn revision(&self) -> &Revision;
    /// The same tree, owned and cheap to share across threads, when reading it from memory
    /// saves a checkout and its paths resolve lexically (no symbolic links followed); `None`
    /// when the files are on disk already, or links make a checkout the faithful reading.
    fn shared(&self) -> Option<std::sync::Arc<dyn Tree>> {
        None
    }
}

/// Normalises a repository path: drops `.` and empty parts, resolves `..`. `None` when the path
/// would leave the repository.
pub fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Joins a path relative to `base` (a directory) and normalises it.
pub fn join(base: &str, rel: &str) -> Option<String> {
    if base.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{base}/{rel}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_refuses_escape() {
        assert_eq!(normalize("./a//b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("").as_deref(), Some(""));
        assert_eq!(normalize("../x"), None);
        assert_eq!(join("a/b", "../../c").as_deref(), Some("c"));
        assert_eq!(join("a", "../../c"), None);
    }
}
