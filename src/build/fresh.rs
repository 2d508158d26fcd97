//! Whether an environment's output is already what this build would write: the same inputs
//! (every pair's cache key, the revision, ferry's version) and files that still hold the bytes
//! recorded in `index.json`. Such an environment is neither rendered, parsed nor rewritten.

use super::job::Prepared;
use super::output::{Index, INDEX_FILE};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;

/// A digest over everything that determines `out/<env>`.
pub(super) fn env_digest(ctx: &super::BuildContext<'_>, env: &str, pairs: &[&Prepared]) -> String {
    let pairs: Vec<_> = pairs
        .iter()
        .map(|p| serde_json::json!([p.app.app, p.key, p.app.namespace]))
        .collect();
    let material = serde_json::json!({
        "ferry": env!("CARGO_PKG_VERSION"),
        "revision": ctx.tree.revision(),
        "clusterScoped": ctx.pipeline.cluster_scoped,
        // What sealing writes depends on these too.
        "recipients": ctx.pipeline.environments.get(env).map(|e| &e.recipients),
        "seal": ctx.pipeline.seal,
        "pairs": pairs,
    });
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(material.to_string().as_bytes()))
    )
}

/// The existing index, when it records `digest` and every file it lists is intact and alone.
pub(super) fn up_to_date(dir: &Path, digest: &str) -> Option<Index> {
    let bytes = std::fs::read(dir.join(INDEX_FILE)).ok()?;
    let index: Index = serde_json::from_slice(&bytes).ok()?;
    if index.build_digest.is_empty() || index.build_digest != digest {
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
