//! HelmReleases (`helm.toolkit.fluxcd.io/v2`) found in what a cluster's Kustomizations render,
//! turned into helm renders of the build as helm-controller would install them: the chart from
//! this repository (a GitRepository source) or from ferry's vendored charts (HelmRepository,
//! OCIRepository), the values of `valuesFrom` then `values`, and Flux's release name.

use crate::config::{ChartRef, SecretValues};
use crate::secrets::Disclosed;
use crate::vendor::oci_verify::KeyedVerify;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub const API: &str = "helm.toolkit.fluxcd.io/v2";

pub fn is_helmrelease(v: &Value) -> bool {
    v["apiVersion"].as_str() == Some(API) && v["kind"] == "HelmRelease"
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default)]
    pub chart: Option<ChartTemplate>,
    #[serde(default)]
    pub chart_ref: Option<Reference>,
    #[serde(default)]
    pub release_name: Option<String>,
    #[serde(default)]
    pub target_namespace: Option<String>,
    #[serde(default)]
    pub values: Option<Map<String, Value>>,
    #[serde(default)]
    pub values_from: Vec<ValuesReference>,
    #[serde(default)]
    pub post_renderers: Vec<Value>,
    #[serde(default)]
    pub install: Option<Value>,
    #[serde(default)]
    pub suspend: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChartTemplate {
    pub spec: ChartSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartSpec {
    pub chart: String,
    #[serde(default)]
    pub version: Option<String>,
    pub source_ref: Reference,
    /// `verify`: checked for OCI charts only (as source-controller does), and refused there.
    #[serde(default)]
    pub verify: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub values_key: Option<String>,
    #[serde(default)]
    pub target_path: Option<String>,
    #[serde(default)]
    pub optional: bool,
}

/// A HelmRelease ready for the helm renderer.
#[derive(Debug, Clone)]
pub struct HelmUnit {
    pub namespace: String,
    pub name: String,
    pub chart: ChartRef,
    pub release_name: String,
    pub release_namespace: String,
    /// Values from ConfigMaps and `values` (all of them when no Secret contributes).
    pub values: Map<String, Value>,
    /// The whole merge when a Secret contributed (see [`Values`]).
    pub secret_values: Option<SecretValues>,
    pub include_crds: bool,
    /// What helm-controller does after helm (see `super::postrender`).
    pub post_render: Value,
    /// The `spec.verify` of the OCIRepository `spec.chartRef` names: `ferry vendor --flux`
    /// checks the chart's signature, the build that ferry.lock records it.
    pub chart_verify: Option<crate::vendor::oci_verify::KeyedVerify>,
    /// That OCIRepository's `spec.ref.semverFilter`, with a range: only matching tags count.
    pub chart_filter: Option<String>,
}

/// A HelmRelease's chart and what its source adds to fetching it.
struct Source {
    chart: ChartRef,
    verify: Option<KeyedVerify>,
    filter: Option<String>,
}

impl Source {
    fn plain(chart: ChartRef) -> Source {
        Source {
            chart,
            verify: None,
            filter: None,
        }
    }
}

/// helm-controller's release name: `spec.releaseName`, else `[targetNamespace-]name`, and a
/// name longer than 53 characters cut to 40, a `-` and the first 12 hex digits of its SHA-256.
pub fn release_name(name: &str, spec: &Spec) -> String {
    let full = match (&spec.release_name, &spec.target_namespace) {
        (Some(r), _) if !r.is_empty() => r.clone(),
        (_, Some(t)) if !t.is_empty() => format!("{t}-{name}"),
        _ => name.to_string(),
    };
    if full.len() <= 53 {
        return full;
    }
    let sum = hex::encode(Sha256::digest(full.as_bytes()));
    // Go cuts bytes; a name that is not ASCII (the API server would refuse it) is cut at the
    // last character boundary instead of panicking.
    let mut cut = 40;
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}", &full[..cut], &sum[..12])
}

/// Finds rendered objects by kind, namespace and name.
pub type Lookup<'a> = dyn Fn(&str, &str, &str) -> Option<Value> + 'a;

/// Resolves the chart, values and names of one HelmRelease.
///
/// # Errors
/// A message naming the field concerned and what to do.
pub fn resolve(
    hr: &Value,
    lookup: &Lookup<'_>,
    is_this_repo: &dyn Fn(&str, &str) -> bool,
) -> Result<Option<HelmUnit>, String> {
    let (namespace, name) = super::spec::key_of(hr);
    let spec: Spec = serde_json::from_value(hr.get("spec").cloned().unwrap_or(Value::Null))
        .map_err(|e| format!("spec: {e}"))?;
    if spec.suspend {
        return Ok(None);
    }
    let owner = format!("HelmRelease {namespace}/{name}");
    let Source {
        chart,
        verify: chart_verify,
        filter: chart_filter,
    } = chart_of((&namespace, &owner), &spec, lookup, is_this_repo)?;
    let values = values_of(&namespace, &spec, lookup)?;
    let include_crds = !matches!(
        spec.install.as_ref().and_then(|i| i["crds"].as_str()),
        Some("Skip")
    );
    Ok(Some(HelmUnit {
        release_name: release_name(&name, &spec),
        release_namespace: spec
            .target_namespace
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| namespace.clone()),
        post_render: super::postrender::describe(&namespace, &name, &hr["spec"]),
        namespace,
        name,
        chart,
        values: values.public,
        secret_values: values.secret,
        include_crds,
        chart_verify,
        chart_filter,
    }))
}

fn chart_of(
    (namespace, owner): (&str, &str),
    spec: &Spec,
    lookup: &Lookup<'_>,
    is_this_repo: &dyn Fn(&str, &str) -> bool,
) -> Result<Source, String> {
    if let Some(r) = &spec.chart_ref {
        let ns = r.namespace.clone().unwrap_or(namespace.to_string());
        let field = "spec.chartRef";
        return match r.kind.as_str() {
            "OCIRepository" => {
                let repo = lookup("OCIRepository", &ns, &r.name).ok_or_else(|| {
                    format!("{field}: OCIRepository {ns}/{} is not defined by anything this cluster deploys", r.name)
                })?;
                let what = format!("{field}: OCIRepository {ns}/{}", r.name);
                let secret = |ns: &str, name: &str| lookup("Secret", ns, name);
                let origin = format!("OCIRepository {ns}/{}", r.name);
                let verify = super::verify::verify_of(&repo, &ns, (&what, &origin), &secret)?;
                let (chart, filter) = oci_repository(&repo, &what)?;
                Ok(Source {
                    chart,
                    verify,
                    filter,
                })
            }
            "HelmChart" => {
                let chart = lookup("HelmChart", &ns, &r.name).ok_or_else(|| {
                    format!("{field}: HelmChart {ns}/{} is not defined by anything this cluster deploys", r.name)
                })?;
                let c: ChartSpec = serde_json::from_value(chart["spec"].clone())
                    .map_err(|e| format!("{field}: HelmChart {ns}/{}: spec: {e}", r.name))?;
                let what = format!("{field}: HelmChart {ns}/{}: spec", r.name);
                let chart = from_source(&ns, &c, lookup, is_this_repo, &what)?;
                let origin = format!("HelmChart {ns}/{}", r.name);
                let verify = chart_verify(&c, &chart, &ns, (&what, &origin), lookup)?;
                Ok(Source {
                    verify,
                    ..Source::plain(chart)
                })
            }
            other => Err(format!(
                "{field}: kind {other} is neither OCIRepository nor HelmChart"
            )),
        };
    }
    let Some(c) = &spec.chart else {
        return Err("neither spec.chart nor spec.chartRef is set".into());
    };
    let what = "spec.chart.spec";
    let chart = from_source(namespace, &c.spec, lookup, is_this_repo, what)?;
    // helm-controller makes the HelmChart in the namespace of its source.
    let src_ns = c.spec.source_ref.namespace.as_deref().unwrap_or(namespace);
    let verify = chart_verify(&c.spec, &chart, src_ns, (what, owner), lookup)?;
    Ok(Source {
        verify,
        ..Source::plain(chart)
    })
}

/// The `verify` of a HelmChart (or a HelmRelease's chart template), checked by
/// source-controller for charts of an OCI HelmRepository only: what `ferry vendor --flux`
/// must check, with the Secret looked up in `namespace`.
fn chart_verify(
    c: &ChartSpec,
    chart: &ChartRef,
    namespace: &str,
    (what, origin): (&str, &str),
    lookup: &Lookup<'_>,
) -> Result<Option<KeyedVerify>, String> {
    let Some(v) = c.verify.as_ref().filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if !matches!(chart, ChartRef::Oci { .. }) {
        return Ok(None);
    }
    let secret = |ns: &str, name: &str| lookup("Secret", ns, name);
    super::verify::verify_of(
        &json!({"spec": {"verify": v}}),
        namespace,
        (what, origin),
        &secret,
    )
}

/// The chart an OCIRepository serves: `spec.ref.tag`, or `spec.ref.semver` (a range `ferry
/// vendor` resolves and pins, with `spec.ref.semverFilter`), else the tag `latest` as
/// source-controller defaults.
fn oci_repository(repo: &Value, what: &str) -> Result<(ChartRef, Option<String>), String> {
    let url = repo["spec"]["url"].as_str().unwrap_or_default().to_string();
    if !url.starts_with("oci://") {
        return Err(format!("{what}: spec.url `{url}` is not an oci:// URL"));
    }
    let r = &repo["spec"]["ref"];
    let mut filter = None;
    if let (Some(_), Some(f)) = (r["semver"].as_str(), r["semverFilter"].as_str()) {
        if !f.is_empty() {
            regex::Regex::new(f).map_err(|e| {
                format!("{what}: spec.ref.semverFilter `{f}` is not a regular expression: {e}")
            })?;
            filter = Some(f.to_string());
        }
    }
    if r["digest"].is_string() {
        return Err(format!("{what}: spec.ref.digest is not supported by ferry yet\nhint: name the chart's version with spec.ref.tag or spec.ref.semver; ferry.lock pins its digest"));
    }
    let version = r["semver"]
        .as_str()
        .or(r["tag"].as_str())
        .unwrap_or("latest")
        .to_string();
    Ok((ChartRef::Oci { url, version }, filter))
}

/// The chart a `chart.spec` (or a HelmChart's spec) names in its source: a directory of
/// this repository, or a chart of a HelmRepository at a version or range (`*` when unset).
fn from_source(
    namespace: &str,
    c: &ChartSpec,
    lookup: &Lookup<'_>,
    is_this_repo: &dyn Fn(&str, &str) -> bool,
    field: &str,
) -> Result<ChartRef, String> {
    let r = &c.source_ref;
    let ns = r.namespace.clone().unwrap_or(namespace.to_string());
    match r.kind.as_str() {
        "GitRepository" => {
            if lookup("GitRepository", &ns, &r.name).is_none() {
                return Err(format!("{field}.sourceRef: GitRepository {ns}/{} is not defined by anything this cluster deploys", r.name));
            }
            if !is_this_repo(&ns, &r.name) {
                return Err(format!("{field}.sourceRef: GitRepository {ns}/{} is not this repository, and ferry builds only the repository it reads", r.name));
            }
            let path = crate::source::normalize(&c.chart)
                .ok_or_else(|| format!("{field}.chart `{}` leaves the repository", c.chart))?;
            Ok(ChartRef::Local { path })
        }
        "HelmRepository" => {
            let repo = lookup("HelmRepository", &ns, &r.name).ok_or_else(|| {
                format!("{field}.sourceRef: HelmRepository {ns}/{} is not defined by anything this cluster deploys", r.name)
            })?;
            let url = repo["spec"]["url"]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches('/');
            // source-controller's default: the latest release.
            let version = c
                .version
                .clone()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "*".into());
            if !crate::vendor::range::is_exact(&version) {
                crate::images::semver::Range::parse(&version)
                    .map_err(|e| format!("{field}.version `{version}`: {e}"))?;
            }
            if repo["spec"]["type"] == "oci" || url.starts_with("oci://") {
                Ok(ChartRef::Oci {
                    url: format!("{url}/{}", c.chart),
                    version,
                })
            } else {
                Ok(ChartRef::Repo {
                    repo: url.to_string(),
                    name: c.chart.clone(),
                    version,
                })
            }
        }
        other => Err(format!(
            "{field}.sourceRef: kind {other} is not supported by ferry yet (GitRepository and HelmRepository are)"
        )),
    }
}

/// The merged values of a HelmRelease: `public` from ConfigMaps and `values` only (what the
/// cache key and index may see), and, when a Secret contributed, the whole merge with what it
/// disclosed.
#[derive(Debug, Default)]
pub struct Values {
    pub public: Map<String, Value>,
    pub secret: Option<SecretValues>,
}

/// The text under `key` of a ConfigMap (`data`) or Secret (`stringData`, else base64 `data`).
fn value_of(obj: &Value, kind: &str, key: &str) -> Result<Option<String>, String> {
    if kind == "ConfigMap" {
        return Ok(obj["data"]
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string));
    }
    if let Some(s) = obj["stringData"].get(key).and_then(Value::as_str) {
        return Ok(Some(s.to_string()));
    }
    let Some(b64) = obj["data"].get(key).and_then(Value::as_str) else {
        return Ok(None);
    };
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| format!("data.{key} is not base64"))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| format!("data.{key} is not UTF-8 text"))
}

/// `valuesFrom` in order, each merged over the ones before, then `values` over them all, as
/// helm-controller merges them (a `targetPath` sets one value, typed as `--set` types it).
/// Values read from a Secret are registered as disclosed and never named in a message.
fn values_of(namespace: &str, spec: &Spec, lookup: &Lookup<'_>) -> Result<Values, String> {
    let inline = spec.values.clone().unwrap_or_default();
    let mut result = Map::new();
    let mut public = Map::new();
    let mut disclosed = Disclosed::default();
    for (i, r) in spec.values_from.iter().enumerate() {
        let field = format!("spec.valuesFrom[{i}]");
        if r.kind != "ConfigMap" && r.kind != "Secret" {
            return Err(format!(
                "{field}: kind `{}` is neither ConfigMap nor Secret",
                r.kind
            ));
        }
        let secret = r.kind == "Secret";
        let key = r.values_key.clone().unwrap_or_else(|| "values.yaml".into());
        let what = format!("{} {namespace}/{}", r.kind, r.name);
        let Some(obj) = lookup(&r.kind, namespace, &r.name) else {
            if r.optional {
                continue;
            }
            return Err(format!("{field}: {what} is not defined by anything this cluster deploys\nhint: add it to the repository, or mark the reference `optional: true`"));
        };
        let data = value_of(&obj, &r.kind, &key).map_err(|m| format!("{field}: {what}: {m}"))?;
        let Some(data) = data else {
            if r.optional {
                continue;
            }
            return Err(format!("{field}: {what} has no key `{key}`\nhint: set valuesKey to one of its keys, or add `{key}`"));
        };
        let origin = format!("{what} key {key}");
        if let Some(path) = r.target_path.as_deref().filter(|p| !p.is_empty()) {
            for m in [&mut result, &mut public] {
                crate::config::merge_maps(m, &inline);
            }
            set_path(&mut result, path, &data).map_err(|m| format!("{field}.targetPath: {m}"))?;
            if secret {
                disclosed.add(origin, data.trim_matches(|c| c == '"' || c == '\''));
            } else {
                set_path(&mut public, path, &data)
                    .map_err(|m| format!("{field}.targetPath: {m}"))?;
            }
            continue;
        }
        // serde_yaml's message may quote the text: never for a Secret's.
        let v: Value = serde_yaml_ng::from_str(&data).map_err(|e| {
            if secret {
                format!("{field}: {what} key `{key}` is not YAML")
            } else {
                format!("{field}: {what} key `{key}` is not YAML: {e}")
            }
        })?;
        match v {
            Value::Object(m) => {
                crate::config::merge_maps(&mut result, &m);
                if secret {
                    disclosed.add_leaves(&origin, &Value::Object(m));
                } else {
                    crate::config::merge_maps(&mut public, &m);
                }
            }
            Value::Null => {}
            _ => return Err(format!("{field}: {what} key `{key}` is not a mapping")),
        }
    }
    crate::config::merge_maps(&mut result, &inline);
    crate::config::merge_maps(&mut public, &inline);
    let from_secret = spec.values_from.iter().any(|r| r.kind == "Secret");
    Ok(Values {
        secret: from_secret.then(|| SecretValues(std::sync::Arc::new((result, disclosed)))),
        public,
    })
}

/// Sets `a.b.c` to `value`, typed as Helm's `--set` types it (quoted: a string).
fn set_path(m: &mut Map<String, Value>, path: &str, value: &str) -> Result<(), String> {
    if path.contains('[') || path.contains('\\') {
        return Err(format!(
            "`{path}`: list indexes and escapes are not supported by ferry yet"
        ));
    }
    let quoted = (value.starts_with('"') && value.ends_with('"'))
        || (value.starts_with('\'') && value.ends_with('\''));
    let typed = if quoted {
        Value::String(value.trim_matches(|c| c == '"' || c == '\'').to_string())
    } else {
        match value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            v => v
                .parse::<i64>()
                .ok()
                .filter(|_| !(v.starts_with('0') && v.len() > 1))
                .map(Value::from)
                .unwrap_or_else(|| Value::String(v.to_string())),
        }
    };
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = m;
    for p in &parts[..parts.len() - 1] {
        let slot = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        cur = match slot {
            Value::Object(o) => o,
            _ => return Err(format!("`{path}`: cannot descend into `{p}`")),
        };
    }
    cur.insert(parts[parts.len() - 1].to_string(), typed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn release_names_follow_helm_controller() {
        let spec = |v: Value| -> Spec { serde_json::from_value(v).unwrap_or_default() };
        assert_eq!(release_name("podinfo", &spec(json!({}))), "podinfo");
        assert_eq!(
            release_name("podinfo", &spec(json!({"targetNamespace": "apps"}))),
            "apps-podinfo"
        );
        assert_eq!(
            release_name(
                "podinfo",
                &spec(json!({"releaseName": "x", "targetNamespace": "a"}))
            ),
            "x"
        );
        let long = "a-very-long-namespace-name-for-testing";
        let name = release_name(
            "and-a-long-release-name",
            &spec(json!({"targetNamespace": long})),
        );
        let full = format!("{long}-and-a-long-release-name");
        assert_eq!(full.len(), 62);
        let sum = hex::encode(Sha256::digest(full.as_bytes()));
        assert_eq!(name, format!("{}-{}", &full[..40], &sum[..12]));
        assert_eq!(name.len(), 53);
    }

    #[test]
    fn values_from_then_values() {
        let cm = json!({"data": {"values.yaml": "a: 1\nb: {c: 1, d: 1}\n", "other": "x: 1\n", "tag": "\"1.0\""}});
        let lookup = move |kind: &str, _: &str, name: &str| {
            (kind == "ConfigMap" && name == "v").then(|| cm.clone())
        };
        let spec: Spec = serde_json::from_value(json!({
            "values": {"b": {"d": 2}},
            "valuesFrom": [
                {"kind": "ConfigMap", "name": "v"},
                {"kind": "ConfigMap", "name": "v", "valuesKey": "tag", "targetPath": "image.tag"},
                {"kind": "ConfigMap", "name": "gone", "optional": true}
            ]
        }))
        .unwrap_or_default();
        let v = values_of("ns", &spec, &lookup).unwrap_or_default();
        assert!(v.secret.is_none());
        assert_eq!(
            Value::Object(v.public),
            json!({"a": 1, "b": {"c": 1, "d": 2}, "image": {"tag": "1.0"}})
        );
        let missing: Spec = serde_json::from_value(
            json!({"valuesFrom": [{"kind": "ConfigMap", "name": "v", "valuesKey": "nope"}]}),
        )
        .unwrap_or_default();
        let e = values_of("ns", &missing, &lookup).unwrap_err();
        assert!(
            e.starts_with("spec.valuesFrom[0]: ConfigMap ns/v has no key `nope`"),
            "{e}"
        );
    }
}
