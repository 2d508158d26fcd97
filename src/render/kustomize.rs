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
        if self.tool.offline {
            // Refused before the binary starts: kubectl would fetch them with git or HTTP.
            let remote = super::inputs::remote_kustomize_entries(req.tree, path);
            if !remote.is_empty() {
                let list: Vec<String> = remote.iter().map(|r| format!("  {r}")).collect();
                return Err(RenderError::Invalid(format!(
                    "--offline: kustomize would fetch these from the network:\n{}\n\
                     hint: vendor them into the repository and refer to them by path, or build without --offline",
                    list.join("\n")
                )));
            }
        }
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

/// `renderer: auto`: the native renderer, and the binary for a root that uses a field native
/// does not support yet. Everything else native reports (a missing file, a refused remote
/// base) is the answer: the binary would fail too, or would fetch from the network.
pub struct AutoKustomizeRenderer {
    /// `None` when no binary is installed: then an unsupported field is an error.
    pub binary: Option<KustomizeRenderer>,
}

impl Renderer for AutoKustomizeRenderer {
    fn name(&self) -> &'static str {
        "kustomize"
    }

    fn fingerprint(&self) -> String {
        // Either may have rendered a key, so both versions are part of it.
        let binary = self
            .binary
            .as_ref()
            .map_or_else(|| "no binary".to_string(), |b| b.fingerprint());
        format!("auto: {} | {binary}", NativeKustomizeRenderer.fingerprint())
    }

    fn render(&self, req: &RenderRequest<'_>) -> Result<String, RenderError> {
        let native = NativeKustomizeRenderer.render(req);
        let unsupported = matches!(&native, Err(RenderError::Native { error, .. })
            if matches!(**error, super::kustomize_native::Error::Unsupported { .. }));
        match &self.binary {
            Some(binary) if unsupported => binary.render(req),
            _ => native,
        }
    }
}
