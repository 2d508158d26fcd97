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
    /// The tenants of `ferry.yaml` whose apps are in this environment: `ferry apply` applies
    /// their objects as their ServiceAccounts, each in an inventory of its own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, crate::tenancy::TenantIdentity>,
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
    /// The tenant the app belongs to; absent for the platform's apps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// A Flux Kustomization's apply settings (`ferry build --flux`), honoured by `ferry apply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flux: Option<crate::flux::apply::FluxApply>,
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
///
/// The new directory is staged beside `out/<env>` and renamed into place, so a reader sees the
/// old output or the new one, never a mix. Only what changed is written: an object file whose
/// bytes `previous` (the intact index of the current output) already records at the same path
/// is hard-linked from the current directory rather than written again, so one changed object
/// costs one file write plus a link per unchanged file.
pub(super) fn write_environment(
    pipeline: &crate::config::Pipeline,
    out_dir: &Path,
    env: &str,
    revision: &Revision,
    digests: &EnvDigests,
    outputs: &[PairOutput],
    previous: Option<&Index>,
) -> Result<PathBuf, OutputError> {
    let current = out_dir.join(env);
    let kept: BTreeMap<&str, &str> = previous
        .into_iter()
        .flat_map(|i| i.apps.values())
        .flat_map(|a| &a.objects)
        .map(|o| (o.path.as_str(), o.digest.as_str()))
        .collect();
    let staging = staging_dir(out_dir, env)?;
    // Each app is a directory of its own: written in parallel.
    use rayon::prelude::*;
    let apps: BTreeMap<String, IndexApp> = outputs
        .par_iter()
        .map(|out| write_app(pipeline, staging.path(), &current, &kept, out))
        .collect::<Result<_, _>>()?;
    let tenants = apps
        .values()
        .filter_map(|a| a.tenant.as_deref())
        .filter_map(|t| {
            let cfg = pipeline.tenants.get(t)?;
            Some((
                t.to_string(),
                crate::tenancy::TenantIdentity::from_config(cfg),
            ))
        })
        .collect();
    let index = Index {
        api_version: crate::config::API_VERSION.to_string(),
        kind: "BuildIndex".to_string(),
        environment: env.to_string(),
        build_digest: digests.build.clone(),
        content_digest: digests.content.clone(),
        source: index_source(revision),
        apps,
        tenants,
    };
    write_index(staging.path(), &index)?;
    swap_into_place(out_dir, env, staging)
}

/// Writes one app's object files into `staging`, hard-linking those `kept` records unchanged
/// in `current`; returns its index entry.
fn write_app(
    pipeline: &crate::config::Pipeline,
    staging: &Path,
    current: &Path,
    kept: &BTreeMap<&str, &str>,
    out: &PairOutput,
) -> Result<(String, IndexApp), OutputError> {
    let app_dir = staging.join(&out.app.app);
    std::fs::create_dir(&app_dir).map_err(|e| io_err(&app_dir, e))?;
    let mut objects = Vec::new();
    for obj in &out.objects {
        let name = object_file_name(obj);
        // Sealed objects are written as sops writes them, so that sops reads back the very
        // values the MAC covers.
        let text = crate::secrets::build::sealed_text(obj).unwrap_or_else(|| to_yaml(obj.value()));
        let rel = format!("{}/{name}", out.app.app);
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
        let path = app_dir.join(&name);
        let linked = kept.get(rel.as_str()) == Some(&digest.as_str())
            && std::fs::hard_link(current.join(&rel), &path).is_ok();
        if !linked {
            std::fs::write(&path, &text).map_err(|e| io_err(&path, e))?;
        }
        objects.push(IndexObject {
            api_version: obj.api_version().to_string(),
            kind: obj.kind().to_string(),
            namespace: obj.namespace().map(str::to_string),
            name: obj.name().to_string(),
            path: rel,
            digest,
        });
    }
    Ok((
        out.app.app.clone(),
        IndexApp {
            renderer: out.renderer.clone(),
            namespace: out.app.namespace.clone(),
            input_digest: format!("sha256:{}", out.cache_key),
            inputs: out.inputs.clone(),
            objects,
            tenant: pipeline.tenant_of(&out.app.app).map(|(t, _)| t.to_string()),
            flux: match &out.app.source {
                crate::config::ResolvedSource::Flux(f) => f.apply.clone(),
                _ => None,
            },
        },
    ))
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

type Staging = crate::tempfiles::Tracked<tempfile::TempDir>;

fn staging_dir(out_dir: &Path, env: &str) -> Result<Staging, OutputError> {
    std::fs::create_dir_all(out_dir).map_err(|e| io_err(out_dir, e))?;
    crate::tempfiles::track(
        || {
            tempfile::Builder::new()
                .prefix(&format!(".{env}.tmp-"))
                .tempdir_in(out_dir)
        },
        |d| d.path().to_path_buf(),
    )
    .map_err(|e| io_err(out_dir, e))
}

fn index_json(index: &Index) -> String {
    serde_json::to_string_pretty(index).expect("index serialises") + "\n"
}

fn write_index(dir: &Path, index: &Index) -> Result<(), OutputError> {
    let index_path = dir.join(INDEX_FILE);
    std::fs::write(&index_path, index_json(index)).map_err(|e| io_err(&index_path, e))
}

/// Gives `out/<env>` the `index.json` of a new revision when its objects are the same: the
/// object files stay where they are, and the index is replaced by a rename, which a reader
/// sees whole or not at all (both indexes list the same files with the same digests).
pub(super) fn restamp(
    out_dir: &Path,
    env: &str,
    revision: &Revision,
    digests: &EnvDigests,
    mut index: Index,
) -> Result<PathBuf, OutputError> {
    let current = out_dir.join(env);
    index.build_digest = digests.build.clone();
    index.content_digest = digests.content.clone();
    index.source = index_source(revision);
    let tmp = crate::tempfiles::track(
        || {
            tempfile::Builder::new()
                .prefix(".index.json.tmp-")
                .tempfile_in(&current)
        },
        |f| f.path().to_path_buf(),
    )
    .map_err(|e| io_err(&current, e))?;
    std::fs::write(tmp.path(), index_json(&index)).map_err(|e| io_err(tmp.path(), e))?;
    let target = current.join(INDEX_FILE);
    let tmp = tmp.into_inner();
    crate::tempfiles::critical(|| tmp.persist(&target)).map_err(|e| io_err(&target, e.error))?;
    Ok(current)
}

/// Puts the staged directory in place of `out/<env>`. On Linux the two are exchanged in one
/// step (`renameat2` with `RENAME_EXCHANGE`), so `out/<env>` always exists and is always whole;
/// elsewhere, or on a file system without it, the previous one is renamed aside first and
/// restored if the second rename fails. An interrupt waits for this to finish
/// ([`crate::tempfiles::critical`]).
fn swap_into_place(out_dir: &Path, env: &str, staging: Staging) -> Result<PathBuf, OutputError> {
    let target = out_dir.join(env);
    let old = out_dir.join(format!(".{env}.old"));
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io_err(&old, e))?;
    }
    // Untracked before the critical section (which holds the registry's lock); an interrupt
    // in between leaves it for the next build's sweep.
    let staged = staging.into_inner().keep();
    let previous = crate::tempfiles::critical(|| {
        if target.exists() && exchange(&staged, &target) {
            // The previous output now sits at the staging path.
            return Ok(Some(staged));
        }
        if target.exists() {
            std::fs::rename(&target, &old).map_err(|e| io_err(&target, e))?;
        }
        if let Err(e) = std::fs::rename(&staged, &target) {
            // Put the previous output back: a failed write must not lose it.
            let _ = std::fs::rename(&old, &target);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(io_err(&target, e));
        }
        Ok(old.exists().then(|| old.clone()))
    })?;
    if let Some(p) = previous {
        let _ = std::fs::remove_dir_all(p);
    }
    Ok(target)
}

/// Exchanges two paths atomically; false when the system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
}

/// Removes what an earlier build of this `out/` left behind when it was killed: staging
/// directories (`.<env>.tmp-*`) and previous outputs (`.<env>.old`). Only called with the
/// lock on `out/` held, so no live build owns them.
pub(super) fn sweep_leftovers(out_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(out_dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().to_string();
        let ours = name.starts_with('.') && (name.contains(".tmp-") || name.ends_with(".old"));
        if ours && e.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The lock that keeps two builds from writing one `out/` at once: an exclusive `flock` on the
/// `out/` directory itself (no lock file to leave behind), held until the returned handle
/// drops or the process ends, however it ends.
///
/// # Errors
/// `out/` cannot be created, opened or locked.
pub(super) fn lock_out_dir(
    out_dir: &Path,
    waiting: impl FnOnce(&str),
) -> Result<std::fs::File, OutputError> {
    std::fs::create_dir_all(out_dir).map_err(|e| io_err(out_dir, e))?;
    let dir = std::fs::File::open(out_dir).map_err(|e| io_err(out_dir, e))?;
    match dir.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            waiting(&format!(
                "another ferry build is running in {}; waiting for it to finish",
                out_dir.display()
            ));
            dir.lock().map_err(|e| io_err(out_dir, e))?;
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err(out_dir, e)),
    }
    Ok(dir)
}

pub(super) fn finish_and_write(
    ctx: &BuildContext<'_>,
    env: &str,
    digests: &EnvDigests,
    results: Vec<PairResult>,
    out_dir: &Path,
    previous: Option<&Index>,
    keep_violations: bool,
) -> EnvReport {
    let apps = results.len();
    let mut errors = Vec::new();
    let mut outputs = Vec::new();
    let mut cached = 0;
    let mut rendered_apps = Vec::new();
    // Pairs blocked by a missing tool: the tool is named once for the whole build
    // (`BuildReport::missing_tools`), here only counted.
    let mut blocked: BTreeMap<String, usize> = BTreeMap::new();
    for r in results {
        match r {
            PairResult::Ok(o) => {
                cached += usize::from(o.cached);
                if !o.cached {
                    rendered_apps.push(o.app.app.clone());
                }
                outputs.push(*o);
            }
            PairResult::Err(e) => match super::missing_tool(&e) {
                Some(m) => {
                    let tool = m.split(" was not found").next().unwrap_or(&m).to_string();
                    *blocked.entry(tool).or_default() += 1;
                }
                None => errors.push(e.to_string()),
            },
        }
    }
    for (tool, n) in blocked {
        let pairs = if n == 1 { "pair" } else { "pairs" };
        errors.push(format!(
            "{env}: {n} {pairs} not rendered without {tool} (see above)"
        ));
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
        violations: Vec::new(),
    };
    if errors.is_empty() {
        if let Err(post) = super::finish_environment(ctx.pipeline, &mut outputs) {
            errors.extend(post.into_iter().map(|e| format!("{env}: {e}")));
        }
    }
    if errors.is_empty() {
        // Tenant apps stay inside their tenant: every violation of every app is reported.
        for o in &outputs {
            let found = crate::tenancy::check_objects(ctx.pipeline, env, &o.app.app, &o.objects);
            if keep_violations {
                report.violations.extend(found);
            } else {
                errors.extend(found.iter().map(ToString::to_string));
            }
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
            // A tenant's Secrets open with the tenant's keys (and the platform's, as configured).
            let recipients = match ctx.pipeline.tenant_of(&o.app.app) {
                Some((_, t)) => t.seal_recipients(&recipients),
                None => recipients.clone(),
            };
            if let Err(e) = crate::secrets::build::seal_objects(
                env,
                &recipients,
                &ctx.pipeline.seal,
                &mut o.objects,
            ) {
                errors.push(format!("{env}/{}: {e}", o.app.app));
            } else if let Err(e) = crate::secrets::build::refuse_disclosed(&o.objects, &o.disclosed)
            {
                errors.push(format!("{env}/{}: {e}", o.app.app));
            }
        }
    }
    if errors.is_empty() {
        report.objects = outputs.iter().map(|o| o.objects.len()).sum();
        match write_environment(
            ctx.pipeline,
            out_dir,
            env,
            ctx.tree.revision(),
            digests,
            &outputs,
            previous,
        ) {
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
