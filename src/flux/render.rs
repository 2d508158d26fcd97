//! One Kustomization built as kustomize-controller builds it: the generated kustomization
//! laid over the commit's objects in memory (or written into a private copy of a tree on
//! disk), ferry's native kustomize, then per object
//! decryption (in memory), variable substitution and common metadata.

use super::envsubst;
use super::generate::generate;
use super::spec::{Kustomization, SUBSTITUTE_ANNOTATION};
use crate::render::kustomize_native::files::{build_in, TreeFiles};
use crate::secrets::Disclosed;
use crate::source::{EntryKind, Tree};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What a Kustomization rendered to.
#[derive(Clone)]
pub struct Rendered {
    pub objects: Vec<Value>,
    pub disclosed: Disclosed,
}

/// How one Kustomization renders.
pub struct Job<'a> {
    pub spec: &'a Kustomization,
    /// Repository path, normalised.
    pub path: &'a str,
    /// The variables, when the Kustomization has `postBuild`.
    pub vars: Option<&'a BTreeMap<String, String>>,
    /// Flux's `StrictPostBuildSubstitutions`: an unset variable is an error.
    pub strict: bool,
    /// Open SOPS-encrypted objects even without `spec.decryption` (the implicit root).
    pub always_decrypt: bool,
}

/// Does the Kustomization change the kustomization file at all?
pub(super) fn rewrites(spec: &Kustomization) -> bool {
    spec.target_namespace.is_some()
        || spec.name_prefix.is_some()
        || spec.name_suffix.is_some()
        || !spec.patches.is_empty()
        || !spec.components.is_empty()
        || !spec.images.is_empty()
}

/// Hard-links (or copies) every file of `from` into `to`.
fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in walkdir::WalkDir::new(from).follow_links(false) {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry
            .path()
            .strip_prefix(from)
            .map_err(std::io::Error::other)?;
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest)?;
        } else if entry.file_type().is_file() && std::fs::hard_link(entry.path(), &dest).is_err() {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// Builds `job.path` of `tree`: from memory when the tree can be shared (a commit), else in
/// its checkout.
///
/// # Errors
/// A message naming the repository files concerned; never a decrypted value.
pub fn render(tree: &dyn Tree, job: &Job<'_>) -> Result<Rendered, String> {
    match tree.entry(job.path) {
        Some(EntryKind::Dir) => {}
        Some(EntryKind::File) => {
            return Err(format!(
                "spec.path `{}` is a file in {}, a directory was expected",
                job.path,
                tree.origin()
            ))
        }
        None => {
            return Err(format!(
                "spec.path `{}` does not exist in {}\nhint: correct spec.path (relative to the repository root), or commit the directory",
                job.path,
                tree.origin()
            ))
        }
    }
    let generated = generate(tree, job.path, job.spec)?;
    let written = generated.created || rewrites(job.spec);
    let text = match tree.shared() {
        Some(shared) => {
            // Flux writes its kustomization into its own copy of the source; here it is laid
            // over the commit's objects, which are read where they are.
            let mut files = TreeFiles::new(shared);
            if written {
                let file = crate::source::join(job.path, &generated.file_name)
                    .unwrap_or_else(|| generated.file_name.clone());
                files.lay_over(&file, generated.text.clone().into_bytes());
            }
            let base = files.root().to_path_buf();
            let dir = base.join(job.path);
            let built = build_in(std::sync::Arc::new(files), &dir);
            name_files(built, &base)?
        }
        None => {
            let root = tree
                .materialize()
                .map_err(|e| format!("cannot check out the repository: {e}"))?;
            if written {
                // So that parallel renders never see each other's files.
                let work = tempfile::Builder::new()
                    .prefix("ferry-flux-")
                    .tempdir()
                    .map_err(|e| format!("cannot create a work directory: {e}"))?;
                link_tree(&root, work.path())
                    .map_err(|e| format!("cannot copy the checkout: {e}"))?;
                let dir = work.path().join(job.path);
                let file = dir.join(&generated.file_name);
                let _ = std::fs::remove_file(&file);
                std::fs::write(&file, &generated.text)
                    .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
                let base = work
                    .path()
                    .canonicalize()
                    .unwrap_or(work.path().to_path_buf());
                build_dir(&dir, &base)?
            } else {
                let base = root.canonicalize().unwrap_or(root.to_path_buf());
                build_dir(&root.join(job.path), &base)?
            }
        }
    };
    let values = crate::manifest::parse_rendered(&text).map_err(|e| e.to_string())?;
    let mut objects = Vec::new();
    let mut disclosed = Disclosed::default();
    for v in values {
        let id = format!(
            "{}/{}",
            v["kind"].as_str().unwrap_or_default(),
            v["metadata"]["name"].as_str().unwrap_or_default()
        );
        if v["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
            || v["kind"].as_str().unwrap_or_default().is_empty()
            || v["apiVersion"].as_str().unwrap_or_default().is_empty()
        {
            return Err(format!(
                "failed to decode Kubernetes apiVersion, kind and name of an object of kind `{}`",
                v["kind"].as_str().unwrap_or_default()
            ));
        }
        let mut v = v;
        if crate::secrets::build::is_encrypted_object(&v) {
            if job.spec.decryption.is_none() && !job.always_decrypt {
                return Err(format!(
                    "{id} is SOPS-encrypted but the Kustomization has no spec.decryption, so Flux would apply the ciphertext\nhint: add `decryption: {{provider: sops, secretRef: ...}}` to the Kustomization"
                ));
            }
            let mut one =
                [crate::manifest::Object::from_value(v).map_err(|e| format!("{id}: {e}"))?];
            let d = crate::secrets::build::open_objects(&mut one)
                .map_err(|e| format!("decryption failed for '{id}': {e}"))?;
            disclosed.extend(d);
            let [o] = one;
            v = o.into_value();
        }
        if let Some(vars) = job.vars {
            if !substitution_disabled(&v) {
                v = substitute(&v, vars, job.strict).map_err(|e| {
                    format!("post build failed for '{id}': {}", disclosed.redact(&e))
                })?;
            }
        }
        if let Some(meta) = &job.spec.common_metadata {
            set_common_metadata(&mut v, &meta.labels, &meta.annotations);
        }
        objects.push(v);
    }
    Ok(Rendered { objects, disclosed })
}

/// Native kustomize on `dir`, naming files relative to `base` in errors.
fn build_dir(dir: &Path, base: &Path) -> Result<String, String> {
    name_files(crate::render::kustomize_native::build(dir), base)
}

/// A build's error, naming files relative to `base` (the top of the tree).
fn name_files(
    built: Result<String, crate::render::kustomize_native::Error>,
    base: &Path,
) -> Result<String, String> {
    built.map_err(|e| {
        let message = e.to_string().replace(&format!("{}/", base.display()), "");
        format!("kustomize build failed: {message}")
    })
}

fn substitution_disabled(v: &Value) -> bool {
    ["labels", "annotations"]
        .iter()
        .any(|f| v["metadata"][f][SUBSTITUTE_ANNOTATION].as_str() == Some("disabled"))
}

/// Flux substitutes in the object's YAML text and reads the result back.
fn substitute(v: &Value, vars: &BTreeMap<String, String>, strict: bool) -> Result<Value, String> {
    let text = crate::goyaml::to_yaml(v);
    let out = envsubst::substitute(&text, vars, strict)
        .map_err(|e| format!("envsubst error: variable substitution failed: {e}"))?;
    let mut docs = crate::manifest::parse_rendered(&out)
        .map_err(|e| format!("the substituted object is not YAML: {e}"))?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => Err(format!("substitution made {n} documents of one object")),
    }
}

/// `commonMetadata`: labels and annotations set on every object, over its own.
fn set_common_metadata(
    v: &mut Value,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) {
    for (field, pairs) in [("labels", labels), ("annotations", annotations)] {
        if pairs.is_empty() {
            continue;
        }
        let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        let slot = meta
            .entry(field)
            .or_insert_with(|| Value::Object(Default::default()));
        if !slot.is_object() {
            *slot = Value::Object(Default::default());
        }
        if let Some(m) = slot.as_object_mut() {
            for (k, val) in pairs {
                m.insert(k.clone(), Value::String(val.clone()));
            }
        }
    }
}
