//! Where a build reads its files: the file system, or (through [`build_in`]) any [`Files`],
//! such as a commit's objects read by gix with a generated kustomization laid over them
//! ([`TreeFiles`]). Building from memory writes no checkout to disk: Flux repositories build
//! every Kustomization straight from the commit, and no file of the repository, decrypted or
//! not, is copied anywhere. The files in use are per thread: a build runs on one thread.

use crate::source::{normalize, EntryKind, Tree};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// A read-only file tree, as the loader sees it.
pub trait Files: Send + Sync {
    /// What `path` is (links followed); `None` when nothing is there.
    fn kind(&self, path: &Path) -> Option<Kind>;
    /// `path` absolute, with `.`, `..` and links resolved; an error when nothing is there.
    fn canonical(&self, path: &Path) -> io::Result<PathBuf>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
}

/// The file system.
struct Disk;

impl Files for Disk {
    fn kind(&self, path: &Path) -> Option<Kind> {
        let meta = std::fs::metadata(path).ok()?;
        Some(if meta.is_dir() { Kind::Dir } else { Kind::File })
    }
    fn canonical(&self, path: &Path) -> io::Result<PathBuf> {
        path.canonicalize()
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn Files>>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&dyn Files) -> R) -> R {
    let current = CURRENT.with(|c| c.borrow().clone());
    match current {
        Some(files) => f(files.as_ref()),
        None => f(&Disk),
    }
}

pub(super) fn kind(path: &Path) -> Option<Kind> {
    with(|f| f.kind(path))
}

pub(super) fn canonical(path: &Path) -> io::Result<PathBuf> {
    with(|f| f.canonical(path))
}

pub(super) fn read(path: &Path) -> io::Result<Vec<u8>> {
    with(|f| f.read(path))
}

pub(super) fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Puts back the files in use before [`build_in`], even when the build panics.
struct Restore(Option<Arc<dyn Files>>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// [`super::build`] of `dir`, a path of `files`.
///
/// # Errors
/// The build's own.
pub fn build_in(files: Arc<dyn Files>, dir: &Path) -> Result<String, super::Error> {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(files));
    let _restore = Restore(previous);
    super::build(dir)
}

/// A repository [`Tree`] (or nothing) seen as files under a root that exists nowhere on disk
/// ([`TreeFiles::root`]), with files laid over it (Flux's generated kustomization, helm's
/// output for a post-renderer). Only for trees without symbolic links ([`Tree::shared`]):
/// paths resolve lexically, and a path leaving the tree does not exist.
pub struct TreeFiles {
    tree: Option<Arc<dyn Tree>>,
    root: PathBuf,
    over: BTreeMap<String, Vec<u8>>,
}

impl TreeFiles {
    pub fn new(tree: Arc<dyn Tree>) -> TreeFiles {
        TreeFiles {
            tree: Some(tree),
            ..TreeFiles::in_memory()
        }
    }

    /// Only the files laid over it.
    pub fn in_memory() -> TreeFiles {
        TreeFiles {
            tree: None,
            root: PathBuf::from("/ferry-tree"),
            over: BTreeMap::new(),
        }
    }

    /// Where the tree's top directory appears to be.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Lays `data` over the repository file `path` (in an existing directory).
    pub fn lay_over(&mut self, path: &str, data: Vec<u8>) {
        self.over.insert(path.to_string(), data);
    }

    /// The repository path of `path`; an error when it is not in the tree.
    fn rel(&self, path: &Path) -> io::Result<String> {
        let missing = || {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is not in the repository", path.display()),
            )
        };
        let rest = path.strip_prefix(&self.root).map_err(|_| missing())?;
        let mut parts = Vec::new();
        for c in rest.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_str().ok_or_else(missing)?),
                Component::CurDir => {}
                Component::ParentDir => parts.push(".."),
                Component::RootDir | Component::Prefix(_) => return Err(missing()),
            }
        }
        normalize(&parts.join("/")).ok_or_else(missing)
    }
}

impl Files for TreeFiles {
    fn kind(&self, path: &Path) -> Option<Kind> {
        let rel = self.rel(path).ok()?;
        if self.over.contains_key(&rel) {
            return Some(Kind::File);
        }
        let prefix = format!("{rel}/");
        if rel.is_empty() || self.over.keys().any(|k| k.starts_with(&prefix)) {
            return Some(Kind::Dir);
        }
        match self.tree.as_ref()?.entry(&rel)? {
            EntryKind::File => Some(Kind::File),
            EntryKind::Dir => Some(Kind::Dir),
        }
    }

    fn canonical(&self, path: &Path) -> io::Result<PathBuf> {
        let rel = self.rel(path)?;
        if self.kind(path).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("`{rel}` does not exist"),
            ));
        }
        Ok(if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        })
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let rel = self.rel(path)?;
        if let Some(data) = self.over.get(&rel) {
            return Ok(data.clone());
        }
        let tree = self.tree.as_ref().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("`{rel}` does not exist"))
        })?;
        tree.read(&rel).map_err(|e| {
            let kind = match e {
                crate::source::SourceError::NotFound { .. } => io::ErrorKind::NotFound,
                _ => io::ErrorKind::Other,
            };
            io::Error::new(kind, e.to_string())
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::source::WorkTree;

    /// Writes `text` to `root/rel`, making its directories (for tests of repository trees).
    pub(crate) fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    #[test]
    fn a_tree_builds_as_its_checkout_does_and_nothing_leaves_it() {
        let d = tempfile::tempdir().expect("tmp");
        let root = &d.path().join("repo");
        write(
            root,
            "app/kustomization.yaml",
            "resources: [../base]\nnamePrefix: p-\nconfigMapGenerator:\n  - name: env\n    files: [conf.txt]\n",
        );
        write(root, "app/conf.txt", "a=b\n");
        write(root, "base/kustomization.yaml", "resources: [cm.yaml]\n");
        write(
            root,
            "base/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        );
        let on_disk = super::super::build(&root.join("app")).expect("disk build");
        let files = TreeFiles::new(Arc::new(WorkTree::open(root)));
        let top = files.root().join("app");
        assert_eq!(
            build_in(Arc::new(files), &top).expect("tree build"),
            on_disk
        );

        // A generated kustomization laid over the tree is what gets built.
        let mut files = TreeFiles::new(Arc::new(WorkTree::open(root)));
        files.lay_over("app/kustomization.yaml", b"resources: [../base]\n".to_vec());
        let top = files.root().join("app");
        let out = build_in(Arc::new(files), &top).expect("overlay build");
        assert!(out.contains("name: cm\n") && !out.contains("p-cm"), "{out}");

        // A path leaving the repository does not exist, even when it does on disk.
        write(
            root,
            "app/kustomization.yaml",
            "resources: [../../outside.yaml]\n",
        );
        write(
            d.path(),
            "outside.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: out\n",
        );
        let files = TreeFiles::new(Arc::new(WorkTree::open(root)));
        let top = files.root().join("app");
        let err = build_in(Arc::new(files), &top).expect_err("outside");
        assert!(err.to_string().contains("../../outside.yaml"), "{err}");
    }
}
