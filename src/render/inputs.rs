//! The inputs of one render, each with a content digest: what a cache key is made of.
//! Kustomize reads files that its root names anywhere in the repository, so the files a
//! kustomization references are followed, transitively.

use crate::config::{ChartRef, ResolvedApp, ResolvedSource};
use crate::source::{join, EntryKind, SourceError, Tree};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{key}: {source}")]
    Missing {
        /// The `ferry.yaml` key that names the input.
        key: String,
        #[source]
        source: SourceError,
    },
    #[error("{key}: `{path}` leaves the repository")]
    Escapes { key: String, path: String },
    /// A values file breaking the YAML rules every input is held to (a key defined twice...).
    #[error("{key}: {message}")]
    Yaml { key: String, message: String },
}

/// Holds a YAML input to [`crate::manifest::strict`]: helm would keep the last of two equal
/// keys, sops and kustomize refuse them.
fn check_yaml(tree: &dyn Tree, key: &str, path: &str) -> Result<(), InputError> {
    let bytes = tree.read(path).map_err(|source| InputError::Missing {
        key: key.to_string(),
        source,
    })?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(()); // helm says what it makes of it
    };
    crate::manifest::strict::check_rules(text).map_err(|e| InputError::Yaml {
        key: key.to_string(),
        message: e.at(path),
    })?;
    // A file claiming sops is opened strictly when rendering; one that does not must not hold
    // ciphertext (a sops file whose metadata was lost).
    if !crate::secrets::build::is_encrypted_text(text) {
        crate::secrets::build::check_plaintext_file(path, text).map_err(|e| InputError::Yaml {
            key: key.to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Digest of every input, keyed by a label (`chart`, `values[0]`, a kustomize path...).
pub fn input_digests(
    tree: &dyn Tree,
    app: &ResolvedApp,
) -> Result<BTreeMap<String, String>, InputError> {
    let mut out = BTreeMap::new();
    let base = format!("apps.{}", app.app);
    let digest = |key: String, path: &str| -> Result<String, InputError> {
        tree.digest(path)
            .map_err(|source| InputError::Missing { key, source })
    };
    match &app.source {
        ResolvedSource::Helm(h) => {
            if let ChartRef::Local { path } = &h.chart {
                out.insert(
                    format!("chart:{path}"),
                    digest(format!("{base}.helm.chart"), path)?,
                );
            }
            for (i, v) in h.values.iter().enumerate() {
                let key = format!("{base}.helm.values[{i}]");
                let d = digest(key.clone(), v)?;
                check_yaml(tree, &key, v)?;
                out.insert(format!("values[{i}]:{v}"), d);
            }
        }
        ResolvedSource::Plain { path } => {
            out.insert(
                format!("path:{path}"),
                digest(format!("{base}.path"), path)?,
            );
        }
        ResolvedSource::Flux(f) => {
            // What the Kustomization read is in its rendered text; its directory and spec
            // say where it came from.
            let key = format!("{} {}", f.kind, f.object);
            // A Kustomization from an OCIRepository: the pinned artifact digest in its path
            // is what it read (its content is not in this tree).
            let read = if f.path.starts_with("oci://") {
                f.path.clone()
            } else {
                digest(key, &f.path)?
            };
            out.insert(format!("path:{}", f.path), read);
            out.insert(format!("spec:{}", f.object), f.spec.clone());
            out.insert("output".into(), f.output.clone());
        }
        ResolvedSource::Kustomize { path, .. } => {
            let key = format!("{base}.kustomize");
            match tree.entry(path) {
                Some(EntryKind::Dir) => {}
                Some(EntryKind::File) => {
                    return Err(InputError::Missing {
                        key,
                        source: SourceError::Read {
                            path: path.clone(),
                            origin: tree.origin(),
                            message: "a kustomization directory was expected, found a file".into(),
                        },
                    })
                }
                None => {
                    return Err(InputError::Missing {
                        key,
                        source: SourceError::NotFound {
                            path: path.clone(),
                            origin: tree.origin(),
                        },
                    })
                }
            }
            let mut seen = BTreeSet::new();
            kustomize_closure(tree, path, &mut seen, &mut out)
                .map_err(|source| InputError::Missing { key, source })?;
        }
    }
    Ok(out)
}

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn kustomization_of(tree: &dyn Tree, dir: &str) -> Option<serde_json::Value> {
    KUSTOMIZATION_FILES.iter().find_map(|f| {
        let p = join(dir, f)?;
        let bytes = tree.read(&p).ok()?;
        serde_yaml_ng::from_slice(&bytes).ok()
    })
}

/// Path-like strings a kustomization refers to.
fn referenced_paths(k: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut strings = |v: &serde_json::Value| {
        if let Some(list) = v.as_array() {
            for s in list.iter().filter_map(|s| s.as_str()) {
                out.push(s.to_string());
            }
        }
    };
    for field in [
        "resources",
        "bases",
        "components",
        "crds",
        "configurations",
        "transformers",
        "generators",
        "validators",
        "patchesStrategicMerge",
    ] {
        strings(&k[field]);
    }
    let mut nested = Vec::new();
    for field in ["patches", "patchesJson6902", "replacements"] {
        for item in k[field].as_array().into_iter().flatten() {
            if let Some(p) = item["path"].as_str() {
                nested.push(p.to_string());
            }
        }
    }
    for field in ["configMapGenerator", "secretGenerator"] {
        for item in k[field].as_array().into_iter().flatten() {
            for list in ["files", "envs"] {
                for s in item[list]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str())
                {
                    nested.push(s.rsplit_once('=').map_or(s, |(_, p)| p).to_string());
                }
            }
            if let Some(e) = item["env"].as_str() {
                nested.push(e.to_string());
            }
        }
    }
    if let Some(p) = k["openapi"]["path"].as_str() {
        nested.push(p.to_string());
    }
    out.extend(nested);
    out.retain(|s| !s.contains('\n') && !s.contains("://") && !s.starts_with("github.com/"));
    out
}

/// An entry of a kustomization that kustomize would fetch from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEntry {
    /// The kustomization file, a repository path.
    pub file: String,
    /// `resources`, `bases` or `components`.
    pub field: &'static str,
    pub entry: String,
}

impl std::fmt::Display for RemoteEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: `{}`", self.file, self.field, self.entry)
    }
}

/// Whether a kustomization entry names something remote (a URL, a git repository).
pub(crate) fn looks_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("git::")
        || entry.starts_with("gh:")
        || entry.contains("?ref=")
        || entry.contains("?version=")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|h| entry.starts_with(h))
}

/// Every `resources`, `bases` and `components` entry of the kustomization in `dir`, and of the
/// local bases and components it reaches, that kustomize would fetch: a URL, a git reference,
/// or a path the repository does not hold (kustomize tries those as remote targets).
pub fn remote_kustomize_entries(tree: &dyn Tree, dir: &str) -> Vec<RemoteEntry> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    remote_entries(tree, dir, &mut seen, &mut out);
    out
}

fn remote_entries(
    tree: &dyn Tree,
    dir: &str,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<RemoteEntry>,
) {
    if !seen.insert(dir.to_string()) {
        return;
    }
    let Some((file, k)) = KUSTOMIZATION_FILES.iter().find_map(|f| {
        let p = join(dir, f)?;
        let bytes = tree.read(&p).ok()?;
        Some((
            p,
            serde_yaml_ng::from_slice::<serde_json::Value>(&bytes).ok()?,
        ))
    }) else {
        return;
    };
    for field in ["resources", "bases", "components"] {
        for entry in k[field].as_array().into_iter().flatten() {
            let Some(entry) = entry.as_str() else {
                continue;
            };
            let local = join(dir, entry).and_then(|p| tree.entry(&p).map(|kind| (p, kind)));
            match local {
                Some((p, EntryKind::Dir)) if !looks_remote(entry) => {
                    remote_entries(tree, &p, seen, out)
                }
                Some(_) if !looks_remote(entry) => {}
                _ => out.push(RemoteEntry {
                    file: file.clone(),
                    field,
                    entry: entry.to_string(),
                }),
            }
        }
    }
}

/// A digest, or nothing for a path kustomize will report itself; a symbolic link that is not
/// followed is refused here, before a renderer could follow it.
fn closure_digest(tree: &dyn Tree, path: &str) -> Result<Option<String>, SourceError> {
    match tree.digest(path) {
        Ok(d) => Ok(Some(d)),
        Err(e @ SourceError::Link { .. }) => Err(e),
        Err(_) => Ok(None),
    }
}

/// Adds to `out` the digests of the kustomize directory `dir` and of every file and directory
/// its kustomization reaches outside it, transitively: what a kustomize build of `dir` reads.
///
/// # Errors
/// A symbolic link that leaves the repository, dangles or loops.
pub fn kustomize_inputs(
    tree: &dyn Tree,
    dir: &str,
    out: &mut BTreeMap<String, String>,
) -> Result<(), SourceError> {
    kustomize_closure(tree, dir, &mut BTreeSet::new(), out)
}

fn kustomize_closure(
    tree: &dyn Tree,
    dir: &str,
    seen: &mut BTreeSet<String>,
    out: &mut BTreeMap<String, String>,
) -> Result<(), SourceError> {
    if !seen.insert(dir.to_string()) {
        return Ok(());
    }
    if let Some(d) = closure_digest(tree, dir)? {
        out.insert(format!("kustomize:{dir}"), d);
    }
    let Some(k) = kustomization_of(tree, dir) else {
        return Ok(());
    };
    let under = |p: &str| dir.is_empty() || p.starts_with(&format!("{dir}/"));
    for rel in referenced_paths(&k) {
        let Some(p) = join(dir, &rel) else { continue };
        match tree.entry(&p) {
            Some(EntryKind::Dir) => kustomize_closure(tree, &p, seen, out)?,
            Some(EntryKind::File) if !under(&p) => {
                if let Some(d) = closure_digest(tree, &p)? {
                    out.insert(format!("kustomize:{p}"), d);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod remote_tests {
    use super::*;

    #[test]
    fn remote_bases_are_found_through_local_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = |p: &str, t: &str| {
            let f = dir.path().join(p);
            std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
            std::fs::write(f, t).expect("write");
        };
        w("o/kustomization.yaml", "resources: [../b, cm.yaml]\n");
        w("o/cm.yaml", "kind: ConfigMap\n");
        w(
            "b/kustomization.yaml",
            "resources:\n- https://github.com/x/y//config?ref=v1\ncomponents: [no/such/dir]\n",
        );
        let tree = crate::source::WorkTree::open(dir.path());
        let found: Vec<String> = remote_kustomize_entries(&tree, "o")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "b/kustomization.yaml: resources: `https://github.com/x/y//config?ref=v1`",
                "b/kustomization.yaml: components: `no/such/dir`"
            ]
        );
    }
}
