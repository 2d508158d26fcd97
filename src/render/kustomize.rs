//! Kustomize overlays through `kubectl kustomize DIR` or `kustomize build DIR`, or through
//! the native renderer (`renderer: native`), which gives the same bytes without a binary.

use super::helm::run_tool;
use super::{RenderError, RenderRequest, Renderer, Tool, ToolKind};
use crate::config::ResolvedSource;

pub struct KustomizeRenderer {
    pub tool: Tool,
}

impl KustomizeRenderer {
    pub fn args(&self, dir: &str) -> Vec<String> {
        match self.tool.kind {
            ToolKind::Kubectl => vec!["kustomize".into(), dir.into()],
            _ => vec!["build".into(), dir.into()],
        }
    }
}

impl Renderer for KustomizeRenderer {
    fn name(&self) -> &'static str {
        "kustomize"
    }

    fn fingerprint(&self) -> String {
        self.tool.version.clone()
    }

    fn render(&self, req: &RenderRequest<'_>) -> Result<String, RenderError> {
        let ResolvedSource::Kustomize { path, .. } = &req.app.source else {
            return Err(RenderError::Invalid("not a kustomize app".into()));
        };
        let root = req.tree.materialize()?;
        let dir = root.join(path);
        run_tool(&self.tool, &self.args(&dir.display().to_string()), &root)
    }
}

/// The native renderer ([`super::kustomize_native`]): kustomize v5.7.1's output, in process.
pub struct NativeKustomizeRenderer;

/// What the native renderer's output matches; part of its cache fingerprint.
pub const NATIVE_KUSTOMIZE_COMPAT: &str = "kustomize v5.7.1";

impl Renderer for NativeKustomizeRenderer {
    fn name(&self) -> &'static str {
        "kustomize"
    }

    fn fingerprint(&self) -> String {
        format!(
            "ferry-native {} ({NATIVE_KUSTOMIZE_COMPAT})",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn render(&self, req: &RenderRequest<'_>) -> Result<String, RenderError> {
        let ResolvedSource::Kustomize { path, .. } = &req.app.source else {
            return Err(RenderError::Invalid("not a kustomize app".into()));
        };
        let root = req.tree.materialize()?;
        let dir = root.join(path);
        super::kustomize_native::build(&dir).map_err(|e| {
            // Name files as the repository does, not by where the tree was materialised.
            let root = root.canonicalize().unwrap_or(root.clone());
            let message = e.to_string().replace(&format!("{}/", root.display()), "");
            RenderError::Native {
                message,
                error: Box::new(e),
            }
        })
    }
}
