//! Symbolic links, one rule for both sources: a link to a file or directory inside the tree is
//! followed (its target's files appear under the link's path, as on disk), a link that leaves
//! the tree, dangles or loops is refused, naming the link, when ferry reads it or a directory
//! holding it. Git stores a link as a blob holding the target (mode 120000): [`resolve`] turns
//! those into entries; the working tree asks the file system ([`check_path`]).

use super::{join, SourceError};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Why a link is not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    Leaves,
    Dangles,
    Loops,
}

impl Broken {
    pub fn describe(self) -> &'static str {
        match self {
            Broken::Leaves => "which leaves the repository; ferry follows links only within it",
            Broken::Dangles => "which does not exist",
            Broken::Loops => "which leads back to itself",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            Broken::Leaves => {
                "copy the file into the repository, or point the link at a path inside it"
            }
            Broken::Dangles | Broken::Loops => "fix or remove the link",
        }
    }

    pub fn error(self, link: &str, target: &str, origin: &str) -> SourceError {
        SourceError::Link {
            path: link.to_string(),
            target: target.to_string(),
            origin: origin.to_string(),
            why: self,
        }
    }
}

/// A tree entry seen through links: the kind, and the id of its content.
pub trait Node: Clone {
    fn is_dir(&self) -> bool;
    /// The same entry, marked as reached through a link.
    fn via_link(&self) -> Self;
}

/// Resolves Git symlinks (`path` → target text) against `entries` (repository-relative paths):
/// followed links add their target's entries under the link's path; the others are returned.
pub fn resolve<N: Node>(
    entries: &mut BTreeMap<String, N>,
    links: Vec<(String, String)>,
) -> BTreeMap<String, (String, Broken)> {
    let mut broken = BTreeMap::new();
    let mut pending: Vec<(String, String, String)> = Vec::new();
    for (link, target) in links {
        let parent = link.rsplit_once('/').map_or("", |(p, _)| p);
        let resolved = (!target.starts_with('/'))
            .then(|| join(parent, &target))
            .flatten();
        match resolved {
            None => {
                broken.insert(link, (target, Broken::Leaves));
            }
            Some(t) if t == link || t.is_empty() || link.starts_with(&format!("{t}/")) => {
                broken.insert(link, (target, Broken::Loops));
            }
            Some(t) => pending.push((link, target, t)),
        }
    }
    // Links to links resolve in rounds: a link waits while its target is, holds, or lies
    // under a link not resolved yet; a round without progress leaves only cycles.
    while !pending.is_empty() {
        let unresolved: Vec<String> = pending.iter().map(|p| p.0.clone()).collect();
        let before = pending.len();
        let mut next = Vec::new();
        for (link, text, t) in std::mem::take(&mut pending) {
            let waits = unresolved.iter().any(|u| {
                *u != link
                    && (*u == t
                        || u.starts_with(&format!("{t}/"))
                        || t.starts_with(&format!("{u}/")))
            });
            if waits {
                next.push((link, text, t));
                continue;
            }
            if let Some(b) = broken_under(&broken, &t) {
                broken.insert(link, (text, b));
                continue;
            }
            match entries.get(&t).cloned() {
                None => {
                    broken.insert(link, (text, Broken::Dangles));
                }
                Some(n) if !n.is_dir() => {
                    entries.insert(link, n.via_link());
                }
                Some(n) => {
                    let prefix = format!("{t}/");
                    let copies: Vec<(String, N)> = entries
                        .range(prefix.clone()..)
                        .take_while(|(p, _)| p.starts_with(&prefix))
                        .map(|(p, e)| (format!("{link}/{}", &p[prefix.len()..]), e.via_link()))
                        .collect();
                    entries.insert(link, n.via_link());
                    entries.extend(copies);
                }
            }
        }
        if next.len() == before {
            for (link, text, _) in next {
                broken.insert(link, (text, Broken::Loops));
            }
            break;
        }
        pending = next;
    }
    broken
}

/// The broken link at `path` or at one of its ancestors.
fn broken_under(broken: &BTreeMap<String, (String, Broken)>, path: &str) -> Option<Broken> {
    broken
        .iter()
        .find(|(l, _)| path == l.as_str() || path.starts_with(&format!("{l}/")))
        .map(|(_, (_, b))| *b)
}

/// The broken link at `path`, at one of its ancestors, or (for a directory) below it.
pub fn broken_at<'a>(
    broken: &'a BTreeMap<String, (String, Broken)>,
    path: &str,
    below: bool,
) -> Option<(&'a String, &'a (String, Broken))> {
    let prefix = format!("{path}/");
    broken.iter().find(|(l, _)| {
        path == l.as_str()
            || path.starts_with(&format!("{l}/"))
            || (below && (path.is_empty() || l.starts_with(&prefix)))
    })
}

/// For a path in the working tree: the first link on the way to it (or the path itself) that
/// dangles or resolves outside `root` (canonical). Each component is checked, so the link is
/// named, not the file behind it.
pub fn check_path(root: &Path, rel: &Path) -> Option<(String, String, Broken)> {
    let mut at = root.to_path_buf();
    let mut shown = PathBuf::new();
    for c in rel.components() {
        let Component::Normal(part) = c else { continue };
        at.push(part);
        shown.push(part);
        let Ok(md) = std::fs::symlink_metadata(&at) else {
            return None;
        };
        if !md.file_type().is_symlink() {
            continue;
        }
        let target = std::fs::read_link(&at)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = shown.to_string_lossy().replace('\\', "/");
        match std::fs::canonicalize(&at) {
            Err(e) if e.raw_os_error() == Some(40) => return Some((name, target, Broken::Loops)),
            Err(_) => return Some((name, target, Broken::Dangles)),
            Ok(real) if !real.starts_with(root) => return Some((name, target, Broken::Leaves)),
            Ok(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct N(bool, u8, bool);

    impl Node for N {
        fn is_dir(&self) -> bool {
            self.0
        }
        fn via_link(&self) -> N {
            N(self.0, self.1, true)
        }
    }

    fn tree() -> BTreeMap<String, N> {
        [
            ("a", N(true, 0, false)),
            ("a/x.yaml", N(false, 1, false)),
            ("b", N(true, 0, false)),
        ]
        .into_iter()
        .map(|(p, n)| (p.to_string(), n))
        .collect()
    }

    #[test]
    fn in_tree_links_are_followed_others_named() {
        let mut t = tree();
        let broken = resolve(
            &mut t,
            vec![
                ("b/f.yaml".into(), "../a/x.yaml".into()),
                ("b/d".into(), "../a".into()),
                ("b/dd".into(), "d".into()),
                ("b/out".into(), "../../etc".into()),
                ("b/abs".into(), "/etc/passwd".into()),
                ("b/gone".into(), "nope".into()),
                ("b/self".into(), "..".into()),
            ],
        );
        assert_eq!(t["b/f.yaml"], N(false, 1, true));
        assert_eq!(t["b/d/x.yaml"], N(false, 1, true));
        assert_eq!(t["b/dd/x.yaml"], N(false, 1, true));
        assert_eq!(broken["b/out"].1, Broken::Leaves);
        assert_eq!(broken["b/abs"].1, Broken::Leaves);
        assert_eq!(broken["b/gone"].1, Broken::Dangles);
        assert_eq!(broken["b/self"].1, Broken::Loops);
        assert!(broken_at(&broken, "b", true).is_some());
        assert!(broken_at(&broken, "b/out/x", false).is_some());
        assert!(broken_at(&broken, "a", true).is_none());
    }

    #[test]
    fn links_to_each_other_loop() {
        let mut t = tree();
        let broken = resolve(
            &mut t,
            vec![("b/p".into(), "q".into()), ("b/q".into(), "p".into())],
        );
        assert_eq!(broken["b/p"].1, Broken::Loops);
        assert_eq!(broken["b/q"].1, Broken::Loops);
    }
}
