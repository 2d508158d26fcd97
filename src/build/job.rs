//! One (environment, app) pair: locate inputs, reuse or render, parse into objects.

use super::BuildContext;
use crate::config::{ChartRef, RendererChoice, ResolvedApp, ResolvedHelm, ResolvedSource};
use crate::manifest::{parse_rendered, Object, ObjectError, YamlError};
use crate::render::{
    input_digests, AutoHelmRenderer, AutoKustomizeRenderer, ChartLocation, HelmRenderer,
    InputError, KustomizeRenderer, NativeHelmRenderer, NativeKustomizeRenderer, PlainRenderer,
    RenderError, RenderRequest, Renderer,
};
use crate::vendor::VendorError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Bumped whenever the meaning of a cache entry changes.
const CACHE_FORMAT: &str = "ferry-render-v1";

#[derive(Debug, thiserror::Error)]
pub enum PairErrorKind {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Vendor(#[from] VendorError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("the output is not YAML: {0}")]
    Yaml(#[from] YamlError),
    #[error("document {index}{}: {source}", source_file.as_ref().map(|s| format!(" ({s})")).unwrap_or_default())]
    Object {
        index: usize,
        source_file: Option<String>,
        #[source]
        source: ObjectError,
    },
}

/// A failed pair, with where it happened.
#[derive(Debug, thiserror::Error)]
#[error("{env}/{app}: {kind}")]
pub struct PairError {
    pub env: String,
    pub app: String,
    #[source]
    pub kind: Arc<PairErrorKind>,
}

/// What one pair produced.
pub struct PairOutput {
    pub app: ResolvedApp,
    pub objects: Vec<Object>,
    pub cache_key: String,
    pub inputs: BTreeMap<String, String>,
    pub renderer: String,
    pub cached: bool,
    /// Every value decrypted for this pair; none may appear in an object written unsealed.
    pub disclosed: crate::secrets::Disclosed,
}

pub enum PairResult {
    Ok(Box<PairOutput>),
    Err(PairError),
}

impl PairResult {
    pub fn env(&self) -> &str {
        match self {
            PairResult::Ok(o) => &o.app.env,
            PairResult::Err(e) => &e.env,
        }
    }
}

/// A pair whose inputs are located and whose cache key is known: everything but the render.
pub(super) struct Prepared {
    pub app: ResolvedApp,
    chart: Option<ChartLocation>,
    inputs: BTreeMap<String, String>,
    renderer: Box<dyn Renderer>,
    fingerprint: String,
    pub key: String,
    /// The render reads decrypted values: it never touches the cache on disk.
    sensitive: bool,
}

/// What rendering one cache key gave: the text and whether it came from the cache. Shared by
/// every pair with that key.
pub(super) type Produced = Result<(Arc<String>, bool), Arc<PairErrorKind>>;

pub(super) fn prepare(ctx: &BuildContext<'_>, app: &ResolvedApp) -> Result<Prepared, PairError> {
    let fail = |kind: PairErrorKind| PairError {
        env: app.env.clone(),
        app: app.app.clone(),
        kind: Arc::new(kind),
    };
    let chart = match &app.source {
        ResolvedSource::Helm(h) => Some(match &h.chart {
            ChartRef::Local { path } => ChartLocation::Repo(path.clone()),
            remote => ChartLocation::Archive(
                ctx.charts
                    .locate(remote, ctx.lock)
                    .map_err(|e| fail(e.into()))?,
            ),
        }),
        _ => None,
    };
    let inputs = input_digests(ctx.tree, app).map_err(|e| fail(e.into()))?;
    let renderer = renderer_for(ctx, app).map_err(|e| fail(e.into()))?;
    let fingerprint = renderer.fingerprint();
    let key = cache_key(&fingerprint, app, &inputs, chart.as_ref());
    let sensitive = match &app.source {
        ResolvedSource::Helm(h) => {
            h.secret_values.is_some()
                || !crate::secrets::build::encrypted_values(ctx.tree, &h.values).is_empty()
        }
        ResolvedSource::Flux(f) => !f.rendered.disclosed().is_empty(),
        _ => false,
    };
    Ok(Prepared {
        sensitive,
        app: app.clone(),
        chart,
        inputs,
        renderer,
        fingerprint,
        key,
    })
}

/// Reads the key from the cache or renders it (once per build, whatever the number of pairs
/// that share it).
pub(super) fn produce(ctx: &BuildContext<'_>, p: &Prepared) -> Produced {
    // A Flux Kustomization's text is in memory already (rendered, or reused from the render
    // cache, while its cluster was followed): storing it again would only cost file writes.
    let cacheable = !p.sensitive && !matches!(p.app.source, ResolvedSource::Flux(_));
    if cacheable {
        if let Some(t) = ctx.cache.get(&p.key) {
            return Ok((Arc::new(t), true));
        }
    }
    let req = RenderRequest {
        tree: ctx.tree,
        app: &p.app,
        chart: p.chart.as_ref(),
    };
    let mut text = p.renderer.render(&req).map_err(|e| Arc::new(e.into()))?;
    if let ResolvedSource::Helm(ResolvedHelm {
        post_render: Some(post),
        ..
    }) = &p.app.source
    {
        text = crate::flux::postrender::apply(&text, post).map_err(|e| {
            Arc::new(PairErrorKind::Render(RenderError::Invalid(format!(
                "HelmRelease post-render: {e}"
            ))))
        })?;
    }
    // Output that read decrypted values, or holds a plaintext Secret, never reaches the cache
    // on disk.
    if cacheable && !crate::secrets::build::holds_plaintext_secret(&text, &ctx.pipeline.seal) {
        ctx.cache.put(&p.key, &text);
    }
    Ok((Arc::new(text), false))
}

/// Turns a produced render into this pair's objects.
pub(super) fn assemble(ctx: &BuildContext<'_>, p: Prepared, produced: &Produced) -> PairResult {
    let fail = |kind: Arc<PairErrorKind>| {
        PairResult::Err(PairError {
            env: p.app.env.clone(),
            app: p.app.app.clone(),
            kind,
        })
    };
    let (text, cached) = match produced {
        Ok(t) => t,
        Err(e) => return fail(e.clone()),
    };
    let mut objects = match to_objects(text) {
        Ok(o) => o,
        Err(e) => return fail(Arc::new(e)),
    };
    // What was decrypted for the render (helm values), then objects still sops-encrypted
    // (kustomize passes them through), opened in memory.
    let mut disclosed = if p.sensitive {
        match crate::secrets::build::decrypted_inputs(ctx.tree, &p.app) {
            Ok(d) => d,
            Err(e) => return fail(Arc::new(e.into())),
        }
    } else {
        crate::secrets::Disclosed::default()
    };
    match crate::secrets::build::open_objects(&mut objects) {
        Ok(d) => disclosed.extend(d),
        Err(e) => return fail(Arc::new(e.into())),
    }
    if matches!(p.app.source, ResolvedSource::Helm(_)) {
        objects.retain(|o| !is_helm_test(o));
    }
    PairResult::Ok(Box::new(PairOutput {
        app: p.app,
        objects,
        cache_key: p.key,
        inputs: p.inputs,
        renderer: p.fingerprint,
        cached: *cached,
        disclosed,
    }))
}

fn renderer_for(
    ctx: &BuildContext<'_>,
    app: &ResolvedApp,
) -> Result<Box<dyn Renderer>, RenderError> {
    Ok(match &app.source {
        ResolvedSource::Helm(h) => match h.renderer {
            RendererChoice::Binary => Box::new(HelmRenderer {
                tool: ctx.tools.helm.clone()?,
            }),
            RendererChoice::Native => Box::new(NativeHelmRenderer),
            RendererChoice::Auto => Box::new(AutoHelmRenderer::new(ctx.tools.helm.clone())?),
        },
        ResolvedSource::Kustomize {
            renderer: RendererChoice::Native,
            ..
        } => Box::new(NativeKustomizeRenderer),
        ResolvedSource::Kustomize {
            renderer: RendererChoice::Auto,
            ..
        } => Box::new(AutoKustomizeRenderer {
            binary: ctx
                .tools
                .kustomize
                .clone()
                .ok()
                .map(|tool| KustomizeRenderer { tool }),
        }),
        ResolvedSource::Kustomize { .. } => Box::new(KustomizeRenderer {
            tool: ctx.tools.kustomize.clone()?,
        }),
        ResolvedSource::Plain { .. } => Box::new(PlainRenderer),
        ResolvedSource::Flux(_) => Box::new(crate::flux::FluxRenderer),
    })
}
fn cache_key(
    fingerprint: &str,
    app: &ResolvedApp,
    inputs: &BTreeMap<String, String>,
    chart: Option<&ChartLocation>,
) -> String {
    let chart_digest = match chart {
        Some(ChartLocation::Archive(p)) => p.file_name().map(|n| n.to_string_lossy().to_string()),
        _ => None,
    };
    // Only what reaches the renderer goes in: namespace and kube version matter to helm alone,
    // so changing them re-renders exactly the helm pairs.
    let helm_only = match &app.source {
        ResolvedSource::Helm(_) => {
            serde_json::json!({"namespace": app.namespace, "kubeVersion": app.kube_version})
        }
        _ => serde_json::Value::Null,
    };
    let material = serde_json::json!({
        "format": CACHE_FORMAT,
        "renderer": fingerprint,
        "source": app.source,
        "helm": helm_only,
        "inputs": inputs,
        "chart": chart_digest,
    });
    hex::encode(Sha256::digest(material.to_string().as_bytes()))
}

/// Helm test hooks (`helm.sh/hook: test...`) are run by `helm test`, not part of the desired
/// state; they are left out, as Argo CD and Flux leave them out of a sync.
fn is_helm_test(o: &Object) -> bool {
    o.value()["metadata"]["annotations"]["helm.sh/hook"]
        .as_str()
        .is_some_and(|h| h.split(',').any(|x| x.trim().starts_with("test")))
}

/// The `# Source: path` comment helm and the plain renderer put before each document.
fn source_comments(text: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut in_doc = false;
    for line in text.lines() {
        if line.starts_with("---") {
            if in_doc {
                out.push(current.take());
            }
            in_doc = false;
            current = None;
        } else if let Some(s) = line.strip_prefix("# Source: ") {
            current = Some(s.trim().to_string());
        } else if !line.trim().is_empty() && !line.starts_with('#') {
            in_doc = true;
        }
    }
    if in_doc {
        out.push(current);
    }
    out
}

pub(super) fn to_objects(text: &str) -> Result<Vec<Object>, PairErrorKind> {
    let docs = parse_rendered(text)?;
    let sources = source_comments(text);
    docs.into_iter()
        .enumerate()
        .map(|(i, v)| {
            Object::from_value(v).map_err(|source| PairErrorKind::Object {
                index: i + 1,
                source_file: sources.get(i).cloned().flatten(),
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_comments_follow_documents() {
        let t = "---\n# Source: a.yaml\nkind: A\n---\n# Source: b.yaml\n# only a comment\n---\n# Source: c.yaml\nkind: C\n";
        assert_eq!(
            source_comments(t),
            [Some("a.yaml".to_string()), Some("c.yaml".to_string())]
        );
    }

    #[test]
    fn bad_document_names_its_source() {
        let t = "---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# Source: b.yaml\napiVersion: v1\nkind: ConfigMap\n";
        let Err(err) = to_objects(t) else {
            panic!("must fail")
        };
        assert_eq!(
            err.to_string(),
            "document 2 (b.yaml): field `metadata.name` is missing"
        );
    }
}
