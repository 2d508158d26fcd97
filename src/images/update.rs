//! `ferry images update`: find every marker under the pipeline root, work out the value each
//! one should hold from a scan, and rewrite only those scalars.

use super::markers::{self, Field, Marker};
use super::policy::{Policies, Versus};
use super::scan::ScanReport;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file's markers.
#[derive(Debug, Clone)]
pub struct MarkedFile {
    /// Relative to the pipeline root, with `/`.
    pub path: String,
    pub text: String,
    pub markers: Vec<Marker>,
}

/// One value to change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Change {
    pub file: String,
    pub line: usize,
    pub policy: String,
    pub environment: Option<String>,
    pub field: Field,
    pub image: String,
    pub old: String,
    pub new: String,
}

/// A marker left as it is, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Kept {
    pub file: String,
    pub line: usize,
    pub policy: String,
    pub value: String,
    pub reason: String,
}

/// What an update would do.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub kept: Vec<Kept>,
    /// New contents by file.
    #[serde(skip)]
    pub files: BTreeMap<String, (String, String)>,
    pub markers: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("{}:{line}: {message}", file.display())]
    Marker {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}:{line}: the marker names policy `{policy}`, which ferry.yaml's `images:` does not define\nhint: {hint}", file.display())]
    UnknownPolicy {
        file: PathBuf,
        line: usize,
        policy: String,
        hint: String,
    },
    #[error("cannot read {}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("policy `{policy}`{}: {message}\nhint: nothing was written; fix the registry access or the policy and run again", env.as_deref().map(|e| format!(" (environment {e})")).unwrap_or_default())]
    Scan {
        policy: String,
        env: Option<String>,
        message: String,
    },
}

/// Directories never searched for markers.
fn skipped_dir(name: &str) -> bool {
    name.starts_with('.') || matches!(name, "out" | "target" | "node_modules")
}

/// Reads every `.yaml` / `.yml` file under `root` that holds a marker.
///
/// # Errors
/// An unreadable file or a malformed marker.
pub fn find_markers(root: &Path) -> Result<Vec<MarkedFile>, UpdateError> {
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir() && skipped_dir(&e.file_name().to_string_lossy()))
        });
    for entry in walk.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let path = entry.path();
        let bytes = std::fs::read(path).map_err(|source| UpdateError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if !text.contains("$imagepolicy") {
            continue;
        }
        let markers = markers::find(&text).map_err(|e| UpdateError::Marker {
            file: path.to_path_buf(),
            line: e.line,
            message: e.message,
        })?;
        if markers.is_empty() {
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        out.push(MarkedFile {
            path: rel,
            text,
            markers,
        });
    }
    Ok(out)
}

/// The environment a marker's namespace names, if it names one.
pub fn marker_env<'a>(m: &'a Marker, environments: &[String]) -> Option<&'a str> {
    environments
        .contains(&m.namespace)
        .then_some(m.namespace.as_str())
}

/// Checks that every marker names a known policy.
///
/// # Errors
/// The first marker naming no policy.
pub fn check_policies(
    root: &Path,
    files: &[MarkedFile],
    policies: &Policies,
) -> Result<(), UpdateError> {
    for f in files {
        for m in &f.markers {
            if policies.get(&m.policy, None).is_none() {
                let known: Vec<&str> = policies.names().collect();
                return Err(UpdateError::UnknownPolicy {
                    file: root.join(&f.path),
                    line: m.line,
                    policy: m.policy.clone(),
                    hint: if known.is_empty() {
                        "add an `images:` section to ferry.yaml".to_string()
                    } else {
                        format!("known policies: {}", known.join(", "))
                    },
                });
            }
        }
    }
    Ok(())
}

/// Works out every change. Nothing is written.
///
/// # Errors
/// A marker naming no policy; a policy a marker uses that the scan could not decide (a registry
/// error, no matching tag): then no file changes at all.
pub fn plan(
    root: &Path,
    files: &[MarkedFile],
    policies: &Policies,
    environments: &[String],
    scan: &ScanReport,
) -> Result<Plan, UpdateError> {
    check_policies(root, files, policies)?;
    let mut plan = Plan::default();
    for f in files {
        let mut edits = Vec::new();
        for m in &f.markers {
            plan.markers += 1;
            let env = marker_env(m, environments);
            // An environment without an override of its own uses the base decision.
            let env_key = env.filter(|e| scan.get(&m.policy, Some(e)).is_some());
            let policy = policies
                .get(&m.policy, env_key)
                .expect("checked by check_policies");
            let decision = scan
                .get(&m.policy, env_key)
                .ok_or_else(|| UpdateError::Scan {
                    policy: m.policy.clone(),
                    env: env_key.map(str::to_string),
                    message: "was not scanned".into(),
                })?;
            if let Some(e) = &decision.error {
                return Err(UpdateError::Scan {
                    policy: m.policy.clone(),
                    env: env_key.map(str::to_string),
                    message: e.clone(),
                });
            }
            let (Some(tag), Some(digest)) = (&decision.latest, &decision.digest) else {
                return Err(UpdateError::Scan {
                    policy: m.policy.clone(),
                    env: env_key.map(str::to_string),
                    message: "no tag or digest was found".into(),
                });
            };
            let pinned = |t: &str| {
                if policy.digest {
                    format!("{t}@{digest}")
                } else {
                    t.to_string()
                }
            };
            let current_tag = match m.field {
                Field::Full => markers::split_reference(&m.value).1,
                Field::Tag => Some(m.value.split('@').next().unwrap_or(&m.value)),
                Field::Name | Field::Digest => None,
            };
            let new = match m.field {
                Field::Full => format!("{}:{}", policy.image, pinned(tag)),
                Field::Tag => pinned(tag),
                Field::Name => policy.image.clone(),
                Field::Digest => digest.clone(),
            };
            let keep = |reason: String| Kept {
                file: f.path.clone(),
                line: m.line,
                policy: m.policy.clone(),
                value: m.value.clone(),
                reason,
            };
            if let Some(cur) = current_tag {
                if policy.compare(tag, cur) == Versus::Older && !policy.allow_downgrade {
                    plan.kept.push(keep(format!(
                        "{cur} orders above {tag} under {}: no downgrade (set allowDowngrade to allow)",
                        policy.describe()
                    )));
                    continue;
                }
            }
            if new == m.value {
                plan.kept.push(keep("up to date".into()));
                continue;
            }
            edits.push(markers::replacement(m, &new));
            plan.changes.push(Change {
                file: f.path.clone(),
                line: m.line,
                policy: m.policy.clone(),
                environment: env_key.map(str::to_string),
                field: m.field,
                image: policy.image.clone(),
                old: m.value.clone(),
                new,
            });
        }
        if !edits.is_empty() {
            let new_text = markers::apply(&f.text, edits);
            plan.files
                .insert(f.path.clone(), (f.text.clone(), new_text));
        }
    }
    Ok(plan)
}

/// Writes the planned files under `root`, each atomically (a temporary file renamed over it,
/// keeping its permissions).
///
/// # Errors
/// A file cannot be written.
pub fn write(root: &Path, plan: &Plan) -> std::io::Result<()> {
    for (rel, (_, new)) in &plan.files {
        let path = root.join(rel);
        let dir = path.parent().unwrap_or(root);
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, new.as_bytes())?;
        if let Ok(meta) = std::fs::metadata(&path) {
            tmp.as_file().set_permissions(meta.permissions())?;
        }
        tmp.persist(&path).map_err(|e| e.error)?;
    }
    Ok(())
}
