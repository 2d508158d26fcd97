//! Rendering an app into manifests. Every kind of app has a [`Renderer`]; the first ones run the
//! real `helm` and `kustomize` binaries, native ones can take their place behind the same trait.

mod cache;
mod compare;
mod helm;
pub mod helm_native;
mod helm_select;
mod helm_show_only;
mod helm_strvals;
mod inputs;
mod kustomize;
pub mod kustomize_native;
mod plain;
mod tools;

pub use cache::{Cache, CacheStats};
pub use compare::{first_difference, FirstDifference};
pub use helm::{helm_args, HelmRenderer};
pub use helm_native::NATIVE_HELM_COMPAT;
pub use helm_select::{AutoHelmRenderer, NativeHelmRenderer};
pub use inputs::{input_digests, kustomize_inputs, InputError};
pub use kustomize::{
    AutoKustomizeRenderer, KustomizeRenderer, NativeKustomizeRenderer, NATIVE_KUSTOMIZE_COMPAT,
};
pub use plain::PlainRenderer;
pub use tools::{tool_command, Tool, ToolError, ToolKind, Tools};

use crate::config::ResolvedApp;
use crate::source::{SourceError, Tree};
use std::path::PathBuf;

/// Where a helm chart is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartLocation {
    /// A directory or archive in the repository.
    Repo(String),
    /// A vendored archive in the chart cache.
    Archive(PathBuf),
}

/// Everything one render needs.
pub struct RenderRequest<'a> {
    pub tree: &'a dyn Tree,
    pub app: &'a ResolvedApp,
    /// Set for helm apps.
    pub chart: Option<&'a ChartLocation>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{tool} failed (exit status {status}):\n{stderr}")]
    Failed {
        tool: String,
        status: String,
        stderr: String,
    },
    #[error("cannot run {tool}: {message}")]
    Spawn { tool: String, message: String },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("`{path}` is not UTF-8 text")]
    NotText { path: String },
    /// A repository file that is not valid YAML, or breaks the rules every input is held to;
    /// `line` is the file's own.
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Yaml {
        path: String,
        line: Option<usize>,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
    /// The native kustomize renderer refused or failed. `message` names repository paths;
    /// `error` (not a `#[source]`, as it would repeat the message) keeps the details.
    #[error("native kustomize: {message}")]
    Native {
        message: String,
        error: Box<kustomize_native::Error>,
    },
    /// The native Helm renderer refused (`unsupported`: a feature it lacks) or the chart
    /// failed as it fails in helm; `message` is helm's wording.
    #[error("native helm: {message}")]
    NativeHelm { message: String, unsupported: bool },
}

/// Turns one app of one environment into a YAML stream.
pub trait Renderer: Send + Sync {
    /// `helm`, `kustomize` or `plain`.
    fn name(&self) -> &'static str;
    /// The implementation and its version; part of every cache key, so that a new tool version
    /// re-renders.
    fn fingerprint(&self) -> String;
    fn render(&self, req: &RenderRequest<'_>) -> Result<String, RenderError>;
}
