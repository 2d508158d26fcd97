//! Kustomization renders reused when nothing they read changed. The key is a digest of the
//! Kustomization's spec as ferry parsed it (so whatever a parent substituted or patched into
//! it counts), its postBuild variables (so a changed `substituteFrom` ConfigMap counts), and
//! every file its kustomize build reads: its path, the bases, components and patch files
//! reached from there, the kustomizations below a path that has none (Flux generates one
//! listing them), and the spec's `components`.
//!
//! Renders are held in memory for the run, so `ferry diff --from --flux` renders what both
//! revisions share once, and in the render cache on disk, so a warm `ferry build --flux`
//! renders nothing. A render that read a secret (a SOPS object, a variable from a Secret) or
//! holds a Secret never reaches the disk.

use super::generate::KUSTOMIZATION_FILES;
use super::render::{render, Job, Rendered};
use super::Options;
use crate::render::Cache;
use crate::source::{join, SourceError, Tree};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Bumped whenever the meaning of an entry changes.
const FORMAT: &str = "ferry-flux-kustomization-v1";

/// The renders of one run, and the disk cache behind them.
pub struct Memo {
    disk: Cache,
    mem: Mutex<HashMap<String, Rendered>>,
    /// One lock per key: clusters are followed in parallel, and the second to need a render
    /// waits for the first's instead of rendering it again.
    keys: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Keys rendered since the last [`Memo::take_stats`], with who needed each: the render is
    /// counted for the first of them in order (`<cluster>/<unit>`), whichever thread got there
    /// first, so reports do not depend on scheduling.
    fresh: Mutex<HashMap<String, std::collections::BTreeSet<String>>>,
    stats: Mutex<MemoStats>,
}

/// What the memo did since it was made, or since the last [`Memo::take_stats`].
#[derive(Debug, Default, Clone)]
pub struct MemoStats {
    /// `<cluster>/<unit>` of each Kustomization rendered.
    pub rendered: Vec<String>,
    /// Kustomizations whose render was reused.
    pub reused: usize,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("disk", &self.disk.dir())
            .finish_non_exhaustive()
    }
}

impl Memo {
    /// A memo backed by the render cache in `dir` (none: memory only).
    pub fn new(dir: Option<PathBuf>) -> Memo {
        Memo {
            disk: Cache::new(dir),
            mem: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            fresh: Mutex::new(HashMap::new()),
            stats: Mutex::new(MemoStats::default()),
        }
    }

    /// What was rendered and reused since the last call.
    pub fn take_stats(&self) -> MemoStats {
        let mut stats = std::mem::take(&mut *self.lock_stats());
        for (_, idents) in self.lock_fresh().drain() {
            let mut idents = idents.into_iter();
            if let Some(first) = idents.next() {
                stats.rendered.push(first);
            }
            stats.reused += idents.len();
        }
        stats
    }

    /// `job` rendered, or its earlier render when its inputs are the same. `sensitive`: its
    /// variables hold secret values (the render then stays off the disk).
    ///
    /// # Errors
    /// The render's own.
    pub fn render(
        &self,
        tree: &dyn Tree,
        job: &Job<'_>,
        ident: &str,
        sensitive: bool,
    ) -> Result<Rendered, String> {
        // A key that cannot be computed (a link leaving the repository...) only means no
        // reuse: the render reports the problem itself.
        let key = key(tree, job).ok();
        let slot = key.as_ref().map(|k| {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.entry(k.clone()).or_default().clone()
        });
        let _held = slot
            .as_ref()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(k) = &key {
            let hit = self.lock_mem().get(k).cloned();
            let hit = hit.or_else(|| {
                if sensitive {
                    return None;
                }
                let text = self.disk.get(k)?;
                let objects: Vec<Value> = serde_json::from_str(&text).ok()?;
                Some(Rendered {
                    objects,
                    disclosed: Default::default(),
                })
            });
            if let Some(r) = hit {
                match self.lock_fresh().get_mut(k) {
                    Some(idents) => {
                        idents.insert(ident.to_string());
                    }
                    None => self.lock_stats().reused += 1,
                }
                self.lock_mem().insert(k.clone(), r.clone());
                return Ok(r);
            }
        }
        let r = render(tree, job)?;
        match &key {
            Some(k) => {
                let mut fresh = self.lock_fresh();
                fresh
                    .entry(k.clone())
                    .or_default()
                    .insert(ident.to_string());
            }
            None => self.lock_stats().rendered.push(ident.to_string()),
        }
        if let Some(k) = key {
            let secret = sensitive
                || !r.disclosed.is_empty()
                || r.objects
                    .iter()
                    .any(|o| o["kind"] == "Secret" && o["apiVersion"] == "v1");
            if !secret {
                if let Ok(text) = serde_json::to_string(&r.objects) {
                    self.disk.put(&k, &text);
                }
            }
            self.lock_mem().insert(k, r.clone());
        }
        Ok(r)
    }

    fn lock_mem(&self) -> std::sync::MutexGuard<'_, HashMap<String, Rendered>> {
        self.mem.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_fresh(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, std::collections::BTreeSet<String>>> {
        self.fresh.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_stats(&self) -> std::sync::MutexGuard<'_, MemoStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Options {
    /// Renders `job` through the memo when there is one.
    pub(super) fn render(
        &self,
        tree: &dyn Tree,
        job: &Job<'_>,
        ident: &str,
        sensitive: bool,
    ) -> Result<Rendered, String> {
        match &self.memo {
            Some(m) => m.render(tree, job, ident, sensitive),
            None => render(tree, job),
        }
    }
}

/// The digest of everything `job`'s render reads.
fn key(tree: &dyn Tree, job: &Job<'_>) -> Result<String, SourceError> {
    let mut inputs: BTreeMap<String, String> = BTreeMap::new();
    crate::render::kustomize_inputs(tree, job.path, &mut inputs)?;
    // Without a kustomization of its own, the path's is generated and lists the directories
    // below that have one; those read their own references. Harmless over-reach otherwise.
    for f in tree.files_under(job.path)? {
        let (dir, name) = f.rsplit_once('/').unwrap_or(("", &f));
        if KUSTOMIZATION_FILES.contains(&name) {
            crate::render::kustomize_inputs(tree, dir, &mut inputs)?;
        }
    }
    for c in &job.spec.components {
        if let Some(p) = join(job.path, c) {
            if tree.entry(&p).is_some() {
                crate::render::kustomize_inputs(tree, &p, &mut inputs)?;
            }
        }
    }
    let material = serde_json::json!({
        "format": FORMAT,
        "ferry": env!("CARGO_PKG_VERSION"),
        "semantics": super::FLUX_COMPAT,
        "kustomize": crate::render::NATIVE_KUSTOMIZE_COMPAT,
        "path": job.path,
        // Every field ferry parsed, including ones added later: `Debug` of ordered maps and
        // vectors is deterministic within one ferry version, which the key holds.
        "spec": format!("{:?}", job.spec),
        "vars": job.vars,
        "strict": job.strict,
        "alwaysDecrypt": job.always_decrypt,
        "inputs": inputs,
    });
    Ok(hex::encode(Sha256::digest(material.to_string().as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::spec::Kustomization;
    use crate::render::kustomize_native::files::tests::write;
    use crate::source::WorkTree;
    use std::path::Path;

    fn key_of(root: &Path, spec: &Kustomization) -> String {
        let tree = WorkTree::open(root);
        let job = Job {
            spec,
            path: "apps/prod",
            vars: None,
            strict: false,
            always_decrypt: false,
        };
        key(&tree, &job).expect("key")
    }

    #[test]
    fn the_key_follows_what_the_kustomization_reads() {
        let d = tempfile::tempdir().expect("tmp");
        let root = d.path();
        write(
            root,
            "apps/prod/kustomization.yaml",
            "resources: [../base]\n",
        );
        write(
            root,
            "apps/base/kustomization.yaml",
            "resources: [cm.yaml]\n",
        );
        write(root, "apps/base/cm.yaml", "kind: ConfigMap\n");
        write(root, "apps/comp/kustomization.yaml", "kind: Component\n");
        write(root, "other/unrelated.yaml", "kind: ConfigMap\n");
        let spec = Kustomization::default();
        let with_component = Kustomization {
            components: vec!["../comp".into()],
            ..Default::default()
        };
        let (k0, c0) = (key_of(root, &spec), key_of(root, &with_component));
        assert_ne!(k0, c0, "the spec is part of the key");
        write(root, "other/unrelated.yaml", "kind: Secret\n");
        assert_eq!(key_of(root, &spec), k0, "a file it does not read");
        write(root, "apps/base/cm.yaml", "kind: ConfigMap\ndata: {a: b}\n");
        let (k1, c1) = (key_of(root, &spec), key_of(root, &with_component));
        assert_ne!(k1, k0, "a base outside its path");
        assert_ne!(c1, c0, "a base outside its path");
        write(
            root,
            "apps/comp/kustomization.yaml",
            "kind: Component\n# changed\n",
        );
        assert_eq!(key_of(root, &spec), k1, "a component it does not name");
        assert_ne!(
            key_of(root, &with_component),
            c1,
            "a component its spec names"
        );
    }
}
