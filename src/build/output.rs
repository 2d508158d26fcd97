//! Writing `out/<env>/`: one file per object under the app's directory, plus `index.json`;
//! written to a temporary directory and renamed into place, so readers never see half of it.

use super::fresh::EnvDigests;
use super::job::{PairOutput, PairResult};
use super::{BuildContext, EnvReport};
use crate::manifest::{to_yaml, Object};
use crate::source::Revision;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const INDEX_FILE: &str = "index.json";

#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {message}", path.display())]
pub struct OutputError {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub api_version: String,
    pub kind: String,
    pub environment: String,
    /// A digest over every input of this output; an equal digest means nothing to rebuild.
    /// Absent in indexes written before it existed: those are never taken as up to date.
    #[serde(default)]
    pub build_digest: String,
    /// The same without the revision: an equal digest means the object files are the same.
    #[serde(default)]
    pub content_digest: String,
    pub source: IndexSource,
    pub apps: BTreeMap<String, IndexApp>,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IndexSource {
    pub revision: Option<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub created: Option<String>,
    pub worktree: bool,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IndexApp {
    pub renderer: String,
    pub namespace: Option<String>,
    /// The render's cache key: a digest over every input.
    pub input_digest: String,
    pub inputs: BTreeMap<String, String>,
    pub objects: Vec<IndexObject>,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IndexObject {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// Relative to `out/<env>/`.
    pub path: String,
    pub digest: String,
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// `kind[.group]_[namespace_]name.yaml`, lower-case; `_` never occurs in a Kubernetes name, so
/// distinct objects get distinct files.
pub fn object_file_name(obj: &Object) -> String {
    let mut kind = obj.kind().to_string();
    if !obj.group().is_empty() {
        kind = format!("{kind}.{}", obj.group());
    }
    match obj.namespace() {
        Some(ns) => format!(
            "{}_{}_{}.yaml",
            sanitize(&kind),
            sanitize(ns),
            sanitize(obj.name())
        ),
        None => format!("{}_{}.yaml", sanitize(&kind), sanitize(obj.name())),
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> OutputError {
    OutputError {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes one environment atomically and returns the path of its directory.
pub(super) fn write_environment(
    out_dir: &Path,
    env: &str,
    revision: &Revision,
    digests: &EnvDigests,
    outputs: &[PairOutput],
) -> Result<PathBuf, OutputError> {
    let staging = staging_dir(out_dir, env)?;
    let mut apps = BTreeMap::new();
    for out in outputs {
        let app_dir = staging.path().join(&out.app.app);
        std::fs::create_dir_all(&app_dir).map_err(|e| io_err(&app_dir, e))?;
        let mut objects = Vec::new();
        for obj in &out.objects {
            let name = object_file_name(obj);
            // Sealed objects are written as sops writes them, so that sops reads back the very
            // values the MAC covers.
            let text =
                crate::secrets::build::sealed_text(obj).unwrap_or_else(|| to_yaml(obj.value()));
            let path = app_dir.join(&name);
            std::fs::write(&path, &text).map_err(|e| io_err(&path, e))?;
            objects.push(IndexObject {
                api_version: obj.api_version().to_string(),
                kind: obj.kind().to_string(),
                namespace: obj.namespace().map(str::to_string),
                name: obj.name().to_string(),
                path: format!("{}/{name}", out.app.app),
                digest: format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes()))),
            });
        }
        apps.insert(
            out.app.app.clone(),
            IndexApp {
                renderer: out.renderer.clone(),
                namespace: out.app.namespace.clone(),
                input_digest: format!("sha256:{}", out.cache_key),
                inputs: out.inputs.clone(),
                objects,
            },
        );
    }
    let index = Index {
        api_version: crate::config::API_VERSION.to_string(),
        kind: "BuildIndex".to_string(),
        environment: env.to_string(),
        build_digest: digests.build.clone(),
        content_digest: digests.content.clone(),
        source: index_source(revision),
        apps,
    };
    write_index(staging.path(), &index)?;
    swap_into_place(out_dir, env, staging)
}

fn index_source(revision: &Revision) -> IndexSource {
    IndexSource {
        revision: revision.flux_revision(),
        commit: revision.commit.clone(),
        branch: revision.branch.clone(),
        created: revision.created(),
        worktree: revision.worktree,
    }
}

fn staging_dir(out_dir: &Path, env: &str) -> Result<tempfile::TempDir, OutputError> {
    std::fs::create_dir_all(out_dir).map_err(|e| io_err(out_dir, e))?;
    tempfile::Builder::new()
        .prefix(&format!(".{env}.tmp-"))
        .tempdir_in(out_dir)
        .map_err(|e| io_err(out_dir, e))
}

fn write_index(dir: &Path, index: &Index) -> Result<(), OutputError> {
    let index_path = dir.join(INDEX_FILE);
    let json = serde_json::to_string_pretty(index).expect("index serialises") + "\n";
    std::fs::write(&index_path, json).map_err(|e| io_err(&index_path, e))
}

/// Writes `out/<env>` again with the same object files (hard-linked where the file system
/// allows, else copied) and an `index.json` for the new revision.
pub(super) fn restamp(
    out_dir: &Path,
    env: &str,
    revision: &Revision,
    digests: &EnvDigests,
    mut index: Index,
) -> Result<PathBuf, OutputError> {
    let current = out_dir.join(env);
    let staging = staging_dir(out_dir, env)?;
    for app in index.apps.values() {
        for o in &app.objects {
            let (from, to) = (current.join(&o.path), staging.path().join(&o.path));
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
            }
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).map_err(|e| io_err(&from, e))?;
            }
        }
    }
    index.build_digest = digests.build.clone();
    index.content_digest = digests.content.clone();
    index.source = index_source(revision);
    write_index(staging.path(), &index)?;
    swap_into_place(out_dir, env, staging)
}

/// Renames the staged directory to `out/<env>`, keeping the previous one until it is in place.
fn swap_into_place(
    out_dir: &Path,
    env: &str,
    staging: tempfile::TempDir,
) -> Result<PathBuf, OutputError> {
    let target = out_dir.join(env);
    let old = out_dir.join(format!(".{env}.old"));
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io_err(&old, e))?;
    }
    if target.exists() {
        std::fs::rename(&target, &old).map_err(|e| io_err(&target, e))?;
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, &target) {
        // Put the previous output back: a failed write must not lose it.
        let _ = std::fs::rename(&old, &target);
        let _ = std::fs::remove_dir_all(&staged);
        return Err(io_err(&target, e));
    }
    if old.exists() {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(target)
}

pub(super) fn finish_and_write(
    ctx: &BuildContext<'_>,
    env: &str,
    digests: &EnvDigests,
    results: Vec<PairResult>,
    out_dir: &Path,
) -> EnvReport {
    let apps = results.len();
    let mut errors = Vec::new();
    let mut outputs = Vec::new();
    let mut cached = 0;
    let mut rendered_apps = Vec::new();
    for r in results {
        match r {
            PairResult::Ok(o) => {
                cached += usize::from(o.cached);
                if !o.cached {
                    rendered_apps.push(o.app.app.clone());
                }
                outputs.push(*o);
            }
            PairResult::Err(e) => errors.push(e.to_string()),
        }
    }
    let rendered = outputs.len() - cached;
    let mut report = EnvReport {
        name: env.to_string(),
        apps,
        objects: 0,
        cached,
        rendered,
        rendered_apps,
        out: out_dir.join(env),
        written: false,
        up_to_date: false,
        errors: Vec::new(),
    };
    if errors.is_empty() {
        if let Err(post) = super::finish_environment(ctx.pipeline, &mut outputs) {
            errors.extend(post.into_iter().map(|e| format!("{env}: {e}")));
        }
    }
    if errors.is_empty() {
        // Seal every Secret to the environment's recipients before anything is written.
        let recipients = ctx
            .pipeline
            .environments
            .get(env)
            .map(|e| e.recipients.clone())
            .unwrap_or_default();
        for o in outputs.iter_mut() {
            if let Err(e) = crate::secrets::build::seal_objects(
                env,
                &recipients,
                &ctx.pipeline.seal,
                &mut o.objects,
            ) {
                errors.push(format!("{env}/{}: {e}", o.app.app));
            }
        }
    }
    if errors.is_empty() {
        report.objects = outputs.iter().map(|o| o.objects.len()).sum();
        match write_environment(out_dir, env, ctx.tree.revision(), digests, &outputs) {
            Ok(p) => {
                report.out = p;
                report.written = true;
            }
            Err(e) => errors.push(format!("{env}: {e}")),
        }
    }
    report.errors = errors;
    report
}
