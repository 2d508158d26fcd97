//! Committing an update with gix: new blobs, the HEAD tree edited at the changed paths, a commit
//! with the given author and committer, on the current branch (the working tree and the index
//! follow) or on a new branch (the working tree is left alone, as a bot preparing a pull request
//! wants). Pushing goes through the `git` binary, since gix does not push yet.
//!
//! A file to be changed must be clean: its working-tree bytes and its index entry must both be
//! what HEAD holds, or the commit would carry (or lose) someone's uncommitted work.

use gix::bstr::ByteSlice;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("{} is not inside a Git repository: {message}", dir.display())]
    NotARepo { dir: PathBuf, message: String },
    #[error("{file} has uncommitted changes ({what}); ferry images update will not mix them into its commit\nhint: commit or stash them first (git stash), then run again")]
    Dirty { file: String, what: String },
    #[error("{file} is not in HEAD's tree\nhint: commit the file first")]
    Untracked { file: String },
    #[error("branch `{branch}` exists already\nhint: pass another --branch, or delete it (git branch -D {branch})")]
    BranchExists { branch: String },
    #[error("`{0}` is not a valid branch name")]
    BadBranch(String),
    #[error("no commit author: {0}\nhint: pass --author \"Name <email>\", or set git's user.name and user.email")]
    NoAuthor(String),
    #[error("git: {what}: {message}")]
    Git { what: String, message: String },
    #[error("writing {}: {source}", file.display())]
    Write {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("git push failed: {0}")]
    Push(String),
}

fn git_err(what: &str) -> impl Fn(gix::Error) -> CommitError + '_ {
    move |e| CommitError::Git {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Identity {
    /// Parses `Name <email>`.
    pub fn parse(s: &str) -> Option<Identity> {
        let (name, rest) = s.split_once('<')?;
        let email = rest.strip_suffix('>')?.trim();
        let name = name.trim();
        (!name.is_empty() && !email.is_empty()).then(|| Identity {
            name: name.to_string(),
            email: email.to_string(),
        })
    }
}

/// Where and how to commit.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub author: Option<Identity>,
    pub committer: Option<Identity>,
    /// A new branch to commit to, starting at HEAD; `None`: the current branch.
    pub branch: Option<String>,
    pub message: String,
}

/// A file's old and new contents, by path relative to the pipeline root.
pub struct FileChange<'a> {
    pub path: &'a str,
    pub old: &'a str,
    pub new: &'a str,
}

/// What was committed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Committed {
    pub commit: String,
    /// The commit it follows (HEAD when it was made), what `ferry diff --from` compares with.
    pub parent: String,
    /// The branch the commit is on.
    pub branch: String,
}

fn open(root: &Path) -> Result<gix::Repository, CommitError> {
    gix::discover(root).map_err(|e| CommitError::NotARepo {
        dir: root.to_path_buf(),
        message: e.to_string(),
    })
}

/// The path of `rel` (relative to `root`) relative to the repository's top.
fn repo_path(repo: &gix::Repository, root: &Path, rel: &str) -> String {
    let top = repo
        .workdir()
        .and_then(|w| w.canonicalize().ok())
        .unwrap_or_default();
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let prefix = root
        .strip_prefix(&top)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    if prefix.is_empty() {
        rel.to_string()
    } else {
        format!("{prefix}/{rel}")
    }
}

/// Refuses files whose working-tree bytes (as read for the update) or index entry differ from
/// HEAD. Returns each file's repository path and HEAD blob mode.
fn check_clean(
    repo: &gix::Repository,
    root: &Path,
    files: &[FileChange<'_>],
) -> Result<Vec<(String, gix::object::tree::EntryKind)>, CommitError> {
    let tree = repo
        .head_commit()
        .map_err(|e| CommitError::Git {
            what: "reading HEAD".into(),
            message: e.to_string(),
        })?
        .tree()
        .map_err(|e| CommitError::Git {
            what: "reading HEAD's tree".into(),
            message: e.to_string(),
        })?;
    let index = repo.open_index().map_err(git_err("reading the index"))?;
    let mut out = Vec::new();
    for f in files {
        let path = repo_path(repo, root, f.path);
        let entry = tree
            .lookup_entry_by_path(&path)
            .map_err(git_err("reading HEAD's tree"))?
            .ok_or_else(|| CommitError::Untracked {
                file: f.path.to_string(),
            })?;
        let head_id = entry.object_id();
        let disk =
            gix::objs::compute_hash(repo.object_hash(), gix::objs::Kind::Blob, f.old.as_bytes())
                .map_err(|e| CommitError::Git {
                    what: "hashing".into(),
                    message: e.to_string(),
                })?;
        if disk != head_id {
            return Err(CommitError::Dirty {
                file: f.path.to_string(),
                what: "the working tree differs from HEAD".into(),
            });
        }
        let staged = index.entry_by_path(path.as_bytes().as_bstr()).map(|e| e.id);
        if staged != Some(head_id) {
            return Err(CommitError::Dirty {
                file: f.path.to_string(),
                what: "the index differs from HEAD".into(),
            });
        }
        out.push((path, entry.mode().kind()));
    }
    Ok(out)
}

fn signature(id: &Identity) -> gix::actor::Signature {
    gix::actor::Signature {
        name: id.name.as_str().into(),
        email: id.email.as_str().into(),
        time: gix::date::Time::now_local_or_utc(),
    }
}

fn identity_from_config(repo: &gix::Repository, committer: bool) -> Option<Identity> {
    let sig = if committer {
        repo.committer()
    } else {
        repo.author()
    }?
    .ok()?;
    Some(Identity {
        name: sig.name.to_str_lossy().into_owned(),
        email: sig.email.to_str_lossy().into_owned(),
    })
}

/// Checks everything that could refuse the commit, before any file is written.
///
/// # Errors
/// Not a repository, a dirty or untracked file, an existing branch, no author.
pub fn preflight(
    root: &Path,
    files: &[FileChange<'_>],
    opts: &CommitOptions,
) -> Result<(), CommitError> {
    let repo = open(root)?;
    check_clean(&repo, root, files)?;
    if let Some(b) = &opts.branch {
        check_branch(&repo, b)?;
    }
    author_and_committer(&repo, opts)?;
    Ok(())
}

fn check_branch(repo: &gix::Repository, branch: &str) -> Result<String, CommitError> {
    let full = format!("refs/heads/{branch}");
    if gix::refs::FullName::try_from(full.as_str()).is_err() || branch.starts_with('-') {
        return Err(CommitError::BadBranch(branch.to_string()));
    }
    if repo
        .try_find_reference(full.as_str())
        .ok()
        .flatten()
        .is_some()
    {
        return Err(CommitError::BranchExists {
            branch: branch.to_string(),
        });
    }
    Ok(full)
}

fn author_and_committer(
    repo: &gix::Repository,
    opts: &CommitOptions,
) -> Result<(Identity, Identity), CommitError> {
    let author = opts
        .author
        .clone()
        .or_else(|| identity_from_config(repo, false))
        .ok_or_else(|| {
            CommitError::NoAuthor("no --author and no user.name/user.email in git's config".into())
        })?;
    let committer = opts
        .committer
        .clone()
        .or_else(|| opts.author.clone())
        .or_else(|| identity_from_config(repo, true))
        .unwrap_or_else(|| author.clone());
    Ok((author, committer))
}

/// Commits `files` (their `new` contents). On the current branch, the working tree and index
/// are updated too; a failure before the branch moves puts the old contents back.
///
/// # Errors
/// See [`preflight`]; writing objects, files or the reference.
pub fn commit(
    root: &Path,
    files: &[FileChange<'_>],
    opts: &CommitOptions,
) -> Result<Committed, CommitError> {
    let repo = open(root)?;
    let paths = check_clean(&repo, root, files)?;
    let (author, committer) = author_and_committer(&repo, opts)?;
    let head = repo.head_commit().map_err(|e| CommitError::Git {
        what: "reading HEAD".into(),
        message: e.to_string(),
    })?;
    let head_tree = head.tree_id().map_err(|e| CommitError::Git {
        what: "reading HEAD's tree".into(),
        message: e.to_string(),
    })?;
    let mut editor = repo
        .edit_tree(head_tree)
        .map_err(git_err("editing the tree"))?;
    let mut blobs = Vec::new();
    for (f, (path, kind)) in files.iter().zip(&paths) {
        let id = repo
            .write_blob(f.new.as_bytes())
            .map_err(git_err("writing a blob"))?
            .detach();
        editor
            .upsert(path.as_str(), *kind, id)
            .map_err(git_err("editing the tree"))?;
        blobs.push(id);
    }
    let tree = editor
        .write()
        .map_err(git_err("writing the tree"))?
        .detach();
    let (author_sig, committer_sig) = (signature(&author), signature(&committer));
    let (mut abuf, mut cbuf) = (
        gix::date::parse::TimeBuf::default(),
        gix::date::parse::TimeBuf::default(),
    );

    if let Some(branch) = &opts.branch {
        let full = check_branch(&repo, branch)?;
        let id = repo
            .commit_as(
                committer_sig.to_ref(&mut cbuf),
                author_sig.to_ref(&mut abuf),
                full.as_str(),
                &opts.message,
                tree,
                [head.id],
            )
            .map_err(git_err("committing"))?;
        return Ok(Committed {
            commit: id.to_string(),
            parent: head.id.to_string(),
            branch: branch.clone(),
        });
    }

    // The current branch: files first (put back if the commit fails), then the commit, then the
    // index entries of the changed files.
    let workdir = repo
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| CommitError::Git {
            what: "committing".into(),
            message: "the repository has no working tree".into(),
        })?;
    let write_all = |pick_new: bool| -> Result<(), CommitError> {
        for (f, (path, _)) in files.iter().zip(&paths) {
            let file = workdir.join(path);
            write_atomic(&file, if pick_new { f.new } else { f.old })
                .map_err(|source| CommitError::Write { file, source })?;
        }
        Ok(())
    };
    if let Err(e) = write_all(true) {
        let _ = write_all(false);
        return Err(e);
    }
    let id = match repo.commit_as(
        committer_sig.to_ref(&mut cbuf),
        author_sig.to_ref(&mut abuf),
        "HEAD",
        &opts.message,
        tree,
        [head.id],
    ) {
        Ok(id) => id.detach(),
        Err(e) => {
            let _ = write_all(false);
            return Err(git_err("committing")(e));
        }
    };
    let mut index = repo.open_index().map_err(git_err("reading the index"))?;
    for ((path, _), blob) in paths.iter().zip(&blobs) {
        let Some(pos) = index.entry_index_by_path(path.as_bytes().as_bstr()).ok() else {
            continue;
        };
        let meta = gix::index::fs::Metadata::from_path_no_follow(&workdir.join(path));
        let entry = &mut index.entries_mut()[pos];
        entry.id = *blob;
        // A stale stat only makes git re-hash the file once; the id is what matters.
        if let Ok(Ok(stat)) = meta.map(|m| gix::index::entry::Stat::from_fs(&m)) {
            entry.stat = stat;
        }
    }
    index
        .write(gix::index::write::Options::default())
        .map_err(|e| CommitError::Git {
            what: "writing the index".into(),
            message: e.to_string(),
        })?;
    let branch = repo
        .head_name()
        .ok()
        .flatten()
        .map(|n| n.shorten().to_string())
        .unwrap_or_else(|| "HEAD".into());
    Ok(Committed {
        commit: id.to_string(),
        parent: head.id.to_string(),
        branch,
    })
}

fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `git push REMOTE BRANCH` with the `git` binary.
///
/// # Errors
/// git missing or the push refused, with git's own words.
pub fn push(root: &Path, remote: &str, branch: &str) -> Result<(), CommitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["push", "--porcelain", remote])
        .arg(format!("refs/heads/{branch}:refs/heads/{branch}"))
        .output()
        .map_err(|e| CommitError::Push(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(CommitError::Push(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(())
}
