//! What helm-controller does to a release's manifests after helm renders them: each
//! `postRenderers[].kustomize` (its `patches` and `images` over the whole output, built by
//! kustomize), then `commonMetadata`, then the origin labels
//! `helm.toolkit.fluxcd.io/name` and `/namespace` on every object.

use serde_json::{json, Map, Value};

/// The post-render of one HelmRelease, as stored in the build's helm pair.
pub fn describe(namespace: &str, name: &str, spec: &Value) -> Value {
    json!({
        "postRenderers": spec["postRenderers"].clone(),
        "commonMetadata": spec["commonMetadata"].clone(),
        "origin": {"name": name, "namespace": namespace},
    })
}

/// Applies `post` (see [`describe`]) to helm's output.
///
/// # Errors
/// A post renderer that is not `kustomize`, or kustomize refusing a patch.
pub fn apply(text: &str, post: &Value) -> Result<String, String> {
    let mut text = text.to_string();
    for (i, r) in post["postRenderers"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(k) = r.get("kustomize") else {
            return Err(format!(
                "spec.postRenderers[{i}]: only `kustomize` post renderers exist"
            ));
        };
        text =
            kustomize(&text, k).map_err(|e| format!("spec.postRenderers[{i}].kustomize: {e}"))?;
    }
    let mut docs = crate::manifest::parse_rendered(&text).map_err(|e| e.to_string())?;
    let origin = &post["origin"];
    let mut labels: Map<String, Value> = post["commonMetadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    labels.insert("helm.toolkit.fluxcd.io/name".into(), origin["name"].clone());
    labels.insert(
        "helm.toolkit.fluxcd.io/namespace".into(),
        origin["namespace"].clone(),
    );
    let annotations = post["commonMetadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for d in &mut docs {
        for (field, pairs) in [("annotations", &annotations), ("labels", &labels)] {
            if pairs.is_empty() {
                continue;
            }
            let Some(meta) = d.get_mut("metadata").and_then(Value::as_object_mut) else {
                continue;
            };
            let slot = meta.entry(field).or_insert_with(|| json!({}));
            if !slot.is_object() {
                *slot = json!({});
            }
            if let Some(m) = slot.as_object_mut() {
                for (k, v) in pairs {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(docs
        .iter()
        .map(crate::goyaml::to_yaml)
        .collect::<Vec<_>>()
        .join("---\n"))
}

/// One kustomize post renderer: helm's output as the only resource of a kustomization with
/// the renderer's patches and images, built natively.
/// Built in memory: helm's output may hold Secrets, which never touch the disk.
fn kustomize(text: &str, k: &Value) -> Result<String, String> {
    use crate::render::kustomize_native::files::{build_in, TreeFiles};
    let mut files = TreeFiles::in_memory();
    files.lay_over("helm-output.yaml", text.as_bytes().to_vec());
    let keep = [
        "group",
        "version",
        "kind",
        "name",
        "namespace",
        "labelSelector",
        "annotationSelector",
    ];
    let patches: Vec<Value> = k["patches"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let mut e = Map::new();
            e.insert("patch".into(), p["patch"].clone());
            if let Some(t) = p["target"].as_object() {
                let t: Map<String, Value> = t
                    .iter()
                    .filter(|(k, v)| keep.contains(&k.as_str()) && v.as_str() != Some(""))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                e.insert("target".into(), Value::Object(t));
            }
            Value::Object(e)
        })
        .collect();
    let mut kus = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["helm-output.yaml"],
    });
    if let Some(images) = k["images"].as_array().filter(|i| !i.is_empty()) {
        kus["images"] = Value::Array(images.clone());
    }
    if !patches.is_empty() {
        kus["patches"] = Value::Array(patches);
    }
    let yaml = serde_yaml_ng::to_string(&kus).map_err(|e| e.to_string())?;
    files.lay_over("kustomization.yaml", yaml.into_bytes());
    let base = files.root().to_path_buf();
    build_in(std::sync::Arc::new(files), &base)
        .map_err(|e| e.to_string().replace(&format!("{}/", base.display()), ""))
}
