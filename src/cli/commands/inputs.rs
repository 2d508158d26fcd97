//! What every command that builds reads: the tree at a revision, `ferry.yaml`, `ferry.lock`,
//! the render cache, the chart store and the tools.

use super::{cache_dir, load_pipeline};
use crate::build::BuildContext;
use crate::cli::args::{GlobalArgs, ToolArgs};
use crate::config::Pipeline;
use crate::render::{Cache, Tools};
use crate::source::{GitTree, Tree, WorkTree};
use crate::vendor::{ChartStore, Lock, LOCK_FILE};
use std::path::Path;

/// A commit (`Some(rev)`) or the working tree (`None`).
pub(crate) fn open_tree(root: &Path, revision: Option<&str>) -> anyhow::Result<Box<dyn Tree>> {
    Ok(match revision {
        Some(rev) => Box::new(GitTree::open(root, rev)?),
        None => Box::new(WorkTree::open(root)),
    })
}

pub(crate) struct BuildInputs {
    pub pipeline: Pipeline,
    pub lock: Lock,
    pub cache: Cache,
    pub charts: ChartStore,
    pub tools: Tools,
}

impl BuildInputs {
    /// Reads the pipeline and lock from `tree`, and finds the cache, chart store and tools.
    pub(crate) fn load(
        g: &GlobalArgs,
        tree: &dyn Tree,
        root: &Path,
        tools: &ToolArgs,
        no_cache: bool,
    ) -> anyhow::Result<Self> {
        let pipeline = load_pipeline(tree, root)?;
        Self::with_pipeline(g, pipeline, tree, root, tools, no_cache)
    }

    /// The same, with a pipeline made by the caller (a Flux repository's clusters).
    pub(crate) fn with_pipeline(
        g: &GlobalArgs,
        pipeline: Pipeline,
        tree: &dyn Tree,
        root: &Path,
        tools: &ToolArgs,
        no_cache: bool,
    ) -> anyhow::Result<Self> {
        let lock = match tree.read(LOCK_FILE) {
            Ok(bytes) => Lock::parse(&root.join(LOCK_FILE), &String::from_utf8_lossy(&bytes))?,
            Err(_) => Lock::default(),
        };
        let cache_root = cache_dir(g);
        let cache = Cache::new(if no_cache { None } else { cache_root.clone() });
        let charts = ChartStore::new(&cache_root.unwrap_or_else(|| root.join(".ferry-cache")));
        let mut tools = Tools::discover(
            tools.helm.as_deref(),
            tools.kustomize.as_deref(),
            cache.dir(),
        );
        if g.offline {
            tools = tools.offline();
        }
        Ok(BuildInputs {
            pipeline,
            lock,
            cache,
            charts,
            tools,
        })
    }

    pub(crate) fn context<'a>(&'a self, tree: &'a dyn Tree) -> BuildContext<'a> {
        BuildContext {
            pipeline: &self.pipeline,
            tree,
            tools: &self.tools,
            cache: &self.cache,
            lock: &self.lock,
            charts: &self.charts,
        }
    }
}
