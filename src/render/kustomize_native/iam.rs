//! The builtin `IAMPolicyGenerator` (`generators:` entries of kind IAMPolicyGenerator):
//! for `cloud: gke`, the Kubernetes ServiceAccount bound to a Google service account by
//! the `iam.gke.io/gcp-service-account` annotation. kustomize writes the object as YAML
//! text with the values put in as they are and parses it, so the same is done here: a value
//! YAML reads as something else (`true`, `@x`) means what it means to kustomize.

use super::error::Error;
use super::resource::Resource;
use serde_json::{Map, Value};

fn fail(cfg: &Resource, message: String) -> Error {
    Error::Resource {
        file: cfg.file.clone(),
        message: format!("{}: {message}", cfg.id()),
    }
}

/// A string field of the config, read as Go's JSON decoding reads one (field names fold
/// case; unknown fields are ignored; `null` leaves it empty).
fn string_field(
    cfg: &Resource,
    map: &Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<String, Error> {
    let m = super::jsonkeys::canonical(map, &[name]);
    match m.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(fail(
            cfg,
            format!(
                "json: cannot unmarshal {} into Go struct field {path} of type string",
                go_kind(other)
            ),
        )),
    }
}

fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        _ => "string",
    }
}

fn section(
    cfg: &Resource,
    map: &Map<String, Value>,
    name: &str,
) -> Result<Map<String, Value>, Error> {
    let m = super::jsonkeys::canonical(map, &[name]);
    match m.get(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(other) => Err(fail(
            cfg,
            format!(
                "json: cannot unmarshal {} into Go struct field IAMPolicyGeneratorArgs.{name} of type types.{}",
                go_kind(other),
                if name == "serviceAccount" { "ServiceAccount" } else { "KubernetesService" }
            ),
        )),
    }
}

/// The objects one IAMPolicyGenerator config generates.
pub fn generate(cfg: &Resource) -> Result<Vec<Resource>, Error> {
    let Value::Object(map) = &cfg.value else {
        return Err(fail(cfg, "expected a mapping".into()));
    };
    let cloud = string_field(cfg, map, "IAMPolicyGeneratorArgs.cloud", "cloud")?;
    let service = section(cfg, map, "kubernetesService")?;
    let account = section(cfg, map, "serviceAccount")?;
    let ksa_name = string_field(
        cfg,
        &service,
        "IAMPolicyGeneratorArgs.kubernetesService.name",
        "name",
    )?;
    let namespace = string_field(
        cfg,
        &service,
        "IAMPolicyGeneratorArgs.kubernetesService.namespace",
        "namespace",
    )?;
    let gsa_name = string_field(
        cfg,
        &account,
        "IAMPolicyGeneratorArgs.serviceAccount.name",
        "name",
    )?;
    let project = string_field(
        cfg,
        &account,
        "IAMPolicyGeneratorArgs.serviceAccount.projectId",
        "projectId",
    )?;
    if cloud != "gke" {
        return Err(fail(
            cfg,
            format!("cloud provider {cloud} not supported yet"),
        ));
    }
    let mut text = format!(
        "\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  annotations:\n    iam.gke.io/gcp-service-account: {gsa_name}@{project}.iam.gserviceaccount.com\n  name: {ksa_name}\n"
    );
    if !namespace.is_empty() {
        text.push_str(&format!("\n  namespace: {namespace}"));
    }
    super::resource::read_resources(&cfg.file, &text).map_err(|e| {
        fail(
            cfg,
            format!("the generated ServiceAccount is not valid YAML ({e}); quote-free names only"),
        )
    })
}
