//! Whether an environment's output is already what this build would write: the same inputs
//! (every pair's cache key, the revision, ferry's version) and files that still hold the bytes
//! recorded in `index.json`. Such an environment is neither rendered, parsed nor rewritten.
//! When only the revision moved (a commit elsewhere in the repository), the objects are the
//! same and only `index.json` is written again.

use super::job::Prepared;
use super::output::{Index, INDEX_FILE};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;

/// Digests over everything that determines `out/<env>`: with the revision (the whole
/// directory) and without it (the object files).
#[derive(Debug, Clone, Default)]
pub(super) struct EnvDigests {
    pub build: String,
    pub content: String,
}

pub(super) fn env_digests(
    ctx: &super::BuildContext<'_>,
    env: &str,
    pairs: &[&Prepared],
) -> EnvDigests {
    let content = env_digest(ctx, env, pairs, None);
    let build = env_digest(ctx, env, pairs, Some(ctx.tree.revision()));
    EnvDigests { build, content }
}

fn env_digest(
    ctx: &super::BuildContext<'_>,
    env: &str,
    pairs: &[&Prepared],
    revision: Option<&crate::source::Revision>,
) -> String {
    let pairs: Vec<_> = pairs
        .iter()
        .map(|p| serde_json::json!([p.app.app, p.key, p.app.namespace]))
        .collect();
    let mut material = serde_json::json!({
        "ferry": env!("CARGO_PKG_VERSION"),
        "revision": revision,
        "clusterScoped": ctx.pipeline.cluster_scoped,
        // What sealing writes depends on these too.
        "recipients": ctx.pipeline.environments.get(env).map(|e| &e.recipients),
        "seal": ctx.pipeline.seal,
        "pairs": pairs,
    });
    // Who owns which app changes the index and the checks; absent, the digest stays what it
    // was before tenants existed.
    if !ctx.pipeline.tenants.is_empty() {
        material["tenants"] = serde_json::json!(ctx.pipeline.tenants);
    }
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(material.to_string().as_bytes()))
    )
}

/// How the existing `out/<env>` compares with what this build would write.
pub(super) enum Freshness {
    /// Everything, `index.json` included: nothing to do.
    UpToDate(Index),
    /// The object files, not the revision: only `index.json` is written again.
    SameObjects(Index),
    /// Something changed; the existing index, when its files are intact, tells which object
    /// files can be kept as they are.
    Stale(Option<Index>),
}

/// Compares the existing index with `digests` and checks that every file it lists is intact
/// and alone.
pub(super) fn freshness(dir: &Path, digests: &EnvDigests) -> Freshness {
    let Some(index) = intact_index(dir) else {
        return Freshness::Stale(None);
    };
    if !index.build_digest.is_empty() && index.build_digest == digests.build {
        Freshness::UpToDate(index)
    } else if !index.content_digest.is_empty() && index.content_digest == digests.content {
        Freshness::SameObjects(index)
    } else {
        Freshness::Stale(Some(index))
    }
}

fn intact_index(dir: &Path) -> Option<Index> {
    let bytes = std::fs::read(dir.join(INDEX_FILE)).ok()?;
    let index: Index = serde_json::from_slice(&bytes).ok()?;
    if index.build_digest.is_empty() {
        return None;
    }
    let mut listed = BTreeSet::new();
    for app in index.apps.values() {
        for o in &app.objects {
            let data = std::fs::read(dir.join(&o.path)).ok()?;
            if format!("sha256:{}", hex::encode(Sha256::digest(&data))) != o.digest {
                return None;
            }
            listed.insert(o.path.clone());
        }
    }
    let on_disk = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            e.path()
                .strip_prefix(dir)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
        })
        .filter(|p| p != INDEX_FILE)
        .count();
    (on_disk == listed.len()).then_some(index)
}
