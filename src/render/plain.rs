//! Plain manifests: every YAML or JSON file under a directory, recursively, in path order.

use super::{RenderError, RenderRequest, Renderer};
use crate::config::ResolvedSource;
use crate::source::Tree;

pub struct PlainRenderer;

fn is_manifest(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    !name.starts_with('.')
        && (name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
        && !matches!(name, "kustomization.yaml" | "kustomization.yml")
}

/// Concatenates the manifests under `dir` into one stream, each file marked with its source.
pub fn read_plain(tree: &dyn Tree, dir: &str) -> Result<String, RenderError> {
    let mut out = String::new();
    for f in tree
        .files_under(dir)?
        .into_iter()
        .filter(|f| is_manifest(f))
    {
        let bytes = tree.read(&f)?;
        let text =
            String::from_utf8(bytes).map_err(|_| RenderError::NotText { path: f.clone() })?;
        // Each file is read on its own first, so that an error names it and its own line (in
        // the joined stream it would be "document 7"), and duplicate keys are refused.
        crate::manifest::parse_documents(&text).map_err(|e| RenderError::Yaml {
            path: f.clone(),
            line: e.line,
            message: e.message,
        })?;
        out.push_str("---\n# Source: ");
        out.push_str(&f);
        out.push('\n');
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

impl Renderer for PlainRenderer {
    fn name(&self) -> &'static str {
        "plain"
    }

    fn fingerprint(&self) -> String {
        "plain 1".into()
    }

    fn render(&self, req: &RenderRequest<'_>) -> Result<String, RenderError> {
        let ResolvedSource::Plain { path } = &req.app.source else {
            return Err(RenderError::Invalid("not a plain app".into()));
        };
        read_plain(req.tree, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_manifests_only() {
        assert!(is_manifest("a/b.yaml"));
        assert!(is_manifest("a/b.json"));
        assert!(!is_manifest("a/README.md"));
        assert!(!is_manifest("a/.sops.yaml"));
        assert!(!is_manifest("a/kustomization.yaml"));
    }
}
