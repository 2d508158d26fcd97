//! Existing Flux repositories, built as Flux would reconcile them: from a cluster root
//! (`clusters/<name>` in Flux's bootstrap layout) every `kustomize.toolkit.fluxcd.io/v1`
//! Kustomization it deploys is followed, recursively, and rendered with kustomize-controller's
//! semantics (see [`render`] and [`generate`]) by ferry's native kustomize. Each rendered
//! Kustomization becomes one unit of the build (an "app" of the cluster's environment), so
//! sealing, the index and the atomic output are the build's own.
//!
//! HelmReleases found in the rendered output become helm renders of the build (see
//! [`helmrelease`]), their remote charts vendored and pinned through [`charts`]; [`apply`]
//! carries `prune`/`wait`/`timeout`/`healthChecks` to `ferry apply`; [`init`] writes the
//! equivalent ferry.yaml. Kustomizations from an OCIRepository build the artifact `ferry
//! vendor --flux` pinned and unpacked (see [`oci`]); a Bucket is an error saying why.

pub mod apply;
mod cache;
pub mod charts;
mod discover;
pub mod envsubst;
mod generate;
pub mod helmrelease;
pub mod init;
pub mod oci;
pub mod postrender;
mod render;
pub mod spec;
mod vars;
pub mod verify;

pub use cache::{Memo, MemoStats};
pub use discover::{Discovered, HelmFound};

use crate::secrets::Disclosed;
use crate::source::{normalize, EntryKind, Tree};

/// How Flux objects are read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// kustomize-controller's `--feature-gates=StrictPostBuildSubstitutions=true`: a variable
    /// that is not set is an error instead of the empty string.
    pub strict: bool,
    /// Git URLs that are this repository (besides GitRepositories annotated as such, and the
    /// one the bootstrap Kustomization syncs the cluster root from).
    pub source_urls: Vec<String>,
    /// Kustomization renders reused when their inputs are the same (see [`Memo`]).
    pub memo: Option<std::sync::Arc<Memo>>,
    /// The pins and cache of `ferry vendor --flux`, for Kustomizations from OCIRepositories.
    pub vendored: Option<std::sync::Arc<oci::Vendored>>,
}

/// One rendered Kustomization (or the cluster root).
pub struct Unit {
    /// Its name in the build: `root`, or `<namespace>.<name>`.
    pub app: String,
    pub namespace: String,
    pub name: String,
    /// The repository file that declares it (`rendered by ...` when not found).
    pub file: String,
    /// The repository path it builds.
    pub path: String,
    /// A digest of its `spec`.
    pub spec_digest: String,
    /// Its `spec` (null for a root without a bootstrap Kustomization).
    pub spec: serde_json::Value,
    /// Its objects, as a YAML stream.
    pub text: String,
    /// Values decrypted for it (opened SOPS objects, `substituteFrom` Secrets).
    pub disclosed: Disclosed,
    pub depends_on: Vec<String>,
    /// The unit whose output declared it.
    pub parent: Option<String>,
    /// Its apply settings (`prune`, `wait`, `timeout`, `healthChecks`); none for a root
    /// without a bootstrap Kustomization.
    pub apply: Option<apply::FluxApply>,
}

impl Unit {
    fn new(
        app: &str,
        namespace: &str,
        name: &str,
        file: &str,
        path: &str,
        spec_digest: String,
        disclosed: Disclosed,
    ) -> Unit {
        Unit {
            app: app.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            file: file.to_string(),
            path: path.to_string(),
            spec_digest,
            spec: serde_json::Value::Null,
            text: String::new(),
            disclosed,
            depends_on: Vec::new(),
            parent: None,
            apply: None,
        }
    }
}

/// A Flux object that cannot be built, with where it is declared.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{cluster}: {object} ({file}): {message}")]
pub struct FluxError {
    pub cluster: String,
    /// `Kustomization flux-system/apps`.
    pub object: String,
    pub file: String,
    pub message: String,
}

/// A cluster of the repository and what its Kustomizations render.
pub struct Cluster {
    pub name: String,
    /// The repository path of its root.
    pub root: String,
    pub discovered: Discovered,
}

/// The clusters under `root`: `root` itself when it holds manifests, else each of its
/// subdirectories (Flux's `clusters/<name>` layout).
///
/// # Errors
/// `root` is not a directory of the tree.
pub fn cluster_roots(tree: &dyn Tree, root: &str) -> Result<Vec<(String, String)>, String> {
    let root = normalize(root).ok_or_else(|| format!("`{root}` leaves the repository"))?;
    if tree.entry(&root) != Some(EntryKind::Dir) {
        return Err(format!(
            "`{root}` is not a directory in {}\nhint: pass the directory that holds the cluster roots (`clusters`) or one cluster root",
            tree.origin()
        ));
    }
    let files = tree.files_under(&root).map_err(|e| e.to_string())?;
    let prefix = if root.is_empty() {
        String::new()
    } else {
        format!("{root}/")
    };
    let rel: Vec<&str> = files
        .iter()
        .map(|f| f.strip_prefix(&prefix).unwrap_or(f))
        .collect();
    let direct = rel
        .iter()
        .any(|r| !r.contains('/') && (r.ends_with(".yaml") || r.ends_with(".yml")));
    if direct || root.is_empty() {
        let name = root.rsplit('/').next().unwrap_or("cluster").to_string();
        return Ok(vec![(
            if name.is_empty() {
                "cluster".into()
            } else {
                name
            },
            root,
        )]);
    }
    let mut dirs: Vec<String> = rel
        .iter()
        .filter_map(|r| r.split_once('/').map(|(d, _)| d.to_string()))
        .collect();
    dirs.dedup();
    Ok(dirs
        .into_iter()
        .map(|d| (d.clone(), format!("{prefix}{d}")))
        .collect())
}

/// Follows every Kustomization of each cluster root (in parallel within a cluster's levels).
pub fn discover_cluster(
    tree: &dyn Tree,
    name: &str,
    root: &str,
    opts: &Options,
) -> (Cluster, Vec<FluxError>) {
    // A commit's Kustomizations render from its objects in memory: no checkout is written
    // (a tree on disk, or one with symbolic links, is read where it is).
    let (discovered, errors) = discover::discover(tree, name, root, opts);
    (
        Cluster {
            name: name.to_string(),
            root: root.to_string(),
            discovered,
        },
        errors,
    )
}

/// What the build's renderer returns for a unit: its text, rendered during discovery.
pub struct FluxRenderer;

/// A fingerprint of the Flux semantics; part of every unit's cache key.
pub const FLUX_COMPAT: &str = "kustomize-controller v1 semantics";

impl crate::render::Renderer for FluxRenderer {
    fn name(&self) -> &'static str {
        "flux"
    }

    fn fingerprint(&self) -> String {
        format!(
            "ferry-flux {} ({FLUX_COMPAT}, {})",
            env!("CARGO_PKG_VERSION"),
            crate::render::NATIVE_KUSTOMIZE_COMPAT
        )
    }

    fn render(
        &self,
        req: &crate::render::RenderRequest<'_>,
    ) -> Result<String, crate::render::RenderError> {
        match &req.app.source {
            crate::config::ResolvedSource::Flux(f) => Ok(f.rendered.text().to_string()),
            _ => Err(crate::render::RenderError::Invalid(
                "not a Flux unit".into(),
            )),
        }
    }
}
