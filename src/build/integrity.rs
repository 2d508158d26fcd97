//! Is `out/<env>` still what `ferry build` wrote? `index.json` lists every object file with
//! its SHA-256; a file edited, replaced or removed since, a file added beside them, or an index
//! that names a path outside the directory means the directory is no longer a build. `apply`,
//! `diff` and `push` read a build only through these checks, so none of them acts on (or
//! signs) content ferry did not produce.

use super::output::{Index, INDEX_FILE};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    #[error("cannot read {}: {source}\nhint: pass a directory written by `ferry build`, such as out/<env>", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a ferry build index: {message}\nhint: pass a directory written by `ferry build`, such as out/<env>", path.display())]
    Index { path: PathBuf, message: String },
    #[error("{}: object {object} has path \"{}\", which leaves the directory: the index was not written by `ferry build`\nhint: build it again", index.display(), crate::untrusted::escape(path))]
    PathEscapes {
        index: PathBuf,
        object: String,
        path: String,
    },
    // No digest in the message: the file may now hold a secret in clear, and the hash of a
    // known file around a guessed value would confirm the guess.
    #[error("{} does not match its digest in index.json: the directory was changed after `ferry build`\nhint: build it again", path.display())]
    Changed { path: PathBuf },
    #[error("{} is not listed in index.json: the directory was changed after `ferry build`\nhint: build it again, or remove the file", path.display())]
    Unlisted { path: PathBuf },
}

/// Reads `dir/index.json`. Returns the index and its bytes (whose digest names a directory
/// build).
///
/// # Errors
/// [`IntegrityError::Read`], [`IntegrityError::Index`].
pub fn read_index(dir: &Path) -> Result<(Index, Vec<u8>), IntegrityError> {
    let path = dir.join(INDEX_FILE);
    let bytes = std::fs::read(&path).map_err(|source| IntegrityError::Read {
        path: path.clone(),
        source,
    })?;
    let index = serde_json::from_slice(&bytes).map_err(|e| IntegrityError::Index {
        path,
        message: e.to_string(),
    })?;
    Ok((index, bytes))
}

/// The one rule for an object's path in an index: relative, and made of plain names only
/// (no `..`, no `.`, no root, nothing empty), as `ferry build` writes them.
pub fn safe_object_path(p: &str) -> bool {
    !p.is_empty()
        && !p.contains('\\')
        && p.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && Path::new(part)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)))
        })
}

/// Checks an object's path; `object` names it for the message.
///
/// # Errors
/// [`IntegrityError::PathEscapes`].
pub fn check_path(dir: &Path, object: &str, p: &str) -> Result<(), IntegrityError> {
    if safe_object_path(p) {
        Ok(())
    } else {
        Err(IntegrityError::PathEscapes {
            index: dir.join(INDEX_FILE),
            object: object.to_string(),
            path: p.to_string(),
        })
    }
}

/// Whether `bytes` are what `digest` (`sha256:<hex>`, as the index writes it) names.
pub fn digest_matches(bytes: &[u8], digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.eq_ignore_ascii_case(&hex::encode(Sha256::digest(bytes))))
}

/// Reads one object file (its path already checked) and checks it against its digest.
///
/// # Errors
/// [`IntegrityError::Read`], [`IntegrityError::Changed`].
pub fn read_object(dir: &Path, rel: &str, digest: &str) -> Result<Vec<u8>, IntegrityError> {
    let path = dir.join(rel);
    let bytes = std::fs::read(&path).map_err(|source| IntegrityError::Read {
        path: path.clone(),
        source,
    })?;
    if !digest_matches(&bytes, digest) {
        return Err(IntegrityError::Changed { path });
    }
    Ok(bytes)
}

/// The whole check, for a directory about to leave the machine (`ferry push`): every object
/// the index lists has a safe path and its digest, and nothing else is in the directory but
/// the index and the directories that hold the objects.
///
/// # Errors
/// Any [`IntegrityError`].
pub fn verify_dir(dir: &Path) -> Result<Index, IntegrityError> {
    let (index, _) = read_index(dir)?;
    let mut listed = BTreeSet::new();
    for app in index.apps.values() {
        for o in &app.objects {
            let object = format!(
                "{}/{}/{}",
                o.kind,
                o.namespace.as_deref().unwrap_or_default(),
                o.name
            );
            check_path(dir, &object, &o.path)?;
            read_object(dir, &o.path, &o.digest)?;
            listed.insert(dir.join(&o.path));
        }
    }
    for entry in walkdir::WalkDir::new(dir).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| IntegrityError::Read {
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e.into(),
        })?;
        let path = entry.path();
        let is_index = path == dir.join(INDEX_FILE);
        if entry.file_type().is_dir() || is_index || listed.contains(path) {
            continue;
        }
        return Err(IntegrityError::Unlisted {
            path: path.to_path_buf(),
        });
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_object_paths() {
        for ok in ["app/configmap_a.yaml", "a", "a/b/c.yaml", "..a/b"] {
            assert!(safe_object_path(ok), "{ok}");
        }
        for bad in [
            "",
            "../x.yaml",
            "app/../../x",
            "/etc/passwd",
            "./a",
            "a//b",
            "a/./b",
            "a\\..\\b",
            "app/",
        ] {
            assert!(!safe_object_path(bad), "{bad}");
        }
    }

    #[test]
    fn digests_are_compared_in_the_index_format() {
        let d = format!("sha256:{}", hex::encode(Sha256::digest(b"x")));
        assert!(digest_matches(b"x", &d));
        assert!(!digest_matches(b"y", &d));
        assert!(!digest_matches(b"x", d.trim_start_matches("sha256:")));
    }
}
