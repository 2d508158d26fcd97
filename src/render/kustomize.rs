//! Kustomize overlays through `kubectl kustomize DIR` or `kustomize build DIR`.

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
        let ResolvedSource::Kustomize { path } = &req.app.source else {
            return Err(RenderError::Invalid("not a kustomize app".into()));
        };
        let root = req.tree.materialize()?;
        let dir = root.join(path);
        run_tool(&self.tool, &self.args(&dir.display().to_string()), &root)
    }
}
