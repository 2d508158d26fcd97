//! `generators:` and `validators:` entries naming builtin plugin configurations.
//! Generators: `ConfigMapGenerator` and `SecretGenerator` configs build objects as the
//! kustomization's generator fields do (name and namespace from the config's own fields, else
//! its metadata; paths relative to the kustomization; no global `generatorOptions`);
//! `IAMPolicyGenerator` configs by the `iam` module.
//! Validators: transformer configs run over the objects, which must come out unchanged but
//! for a `validated-by` label (kept in the output, as kustomize keeps it).

use super::error::Error;
use super::fields::Reader;
use super::kustomization::Kustomization;
use super::resource::Resource;
use serde_json::{Map, Value};
use std::path::Path;

fn config_error(cfg: &Resource, message: String) -> Error {
    Error::Resource {
        file: cfg.file.clone(),
        message,
    }
}

/// The label a validator may add (`konfig.ValidatedByLabelKey`).
const VALIDATED_BY: &str = "validated-by";

/// Fields the generator args read (those of a `configMapGenerator`/`secretGenerator` entry);
/// the rest of a plugin config is ignored, as Go's non-strict decoding ignores it.
const GENERATOR_FIELDS: &[&str] = super::fields::GENERATOR_FIELDS;

/// Runs each generator configuration, in order, into `acc`.
pub fn run(
    k: &Kustomization,
    dir: &Path,
    configs: &[Resource],
    acc: &mut Vec<Resource>,
) -> Result<(), Error> {
    for cfg in configs {
        let gvk = cfg.gvk();
        super::transformers::refuse_external(cfg, "generators")?;
        let secret = match gvk.kind.as_str() {
            "ConfigMapGenerator" => false,
            "SecretGenerator" => true,
            "HelmChartInflationGenerator" => {
                return Err(Error::Refused {
                    file: cfg.file.clone(),
                    field: "generators".into(),
                    message: "charts are not inflated inside kustomizations; declare the chart as a helm app in ferry.yaml".into(),
                })
            }
            "IAMPolicyGenerator" => {
                let mut generated = super::iam::generate(cfg)?;
                super::origin::set_new(&mut generated, 0, |_| super::origin::plugin(cfg));
                super::loader::append_generated(acc, generated, &k.file)?;
                continue;
            }
            _ if super::transformers::is_builtin(&gvk.kind) => {
                return Err(config_error(
                    cfg,
                    format!(
                        "failed to load generator: plugin {} not a generator",
                        cfg.id()
                    ),
                ))
            }
            _ => {
                return Err(config_error(
                    cfg,
                    format!(
                        "failed to load generator: unable to load builtin {}.builtin.[noGrp]",
                        gvk.kind
                    ),
                ))
            }
        };
        let Value::Object(m) = &cfg.value else {
            return Err(config_error(cfg, "expected a mapping".into()));
        };
        let mut entry: Map<String, Value> = m
            .iter()
            .filter(|(key, _)| GENERATOR_FIELDS.contains(&key.as_str()))
            .filter(|(key, _)| secret || key.as_str() != "type")
            .map(|(key, v)| (key.clone(), v.clone()))
            .collect();
        for field in ["name", "namespace"] {
            let own = entry.get(field).and_then(Value::as_str).unwrap_or("");
            if own.is_empty() {
                if let Some(v) = cfg.value["metadata"].get(field).filter(|v| !v.is_null()) {
                    entry.insert(field.into(), v.clone());
                }
            }
        }
        let key = if secret {
            "secretGenerator"
        } else {
            "configMapGenerator"
        };
        let mut map = Map::new();
        map.insert(key.into(), Value::Array(vec![Value::Object(entry)]));
        let reader = Reader {
            file: &cfg.file,
            map: &map,
        };
        for g in reader.generators(key)? {
            super::generators::run_one(k, dir, &g, secret, acc, &|| super::origin::plugin(cfg))?;
        }
    }
    Ok(())
}

/// An object's value as a validator's check sees it: without the `validated-by` label. kubectl
/// compares yaml nodes, and removing that label rebuilds the labels node, which then differs
/// from the original (`None`) unless no other label is left and the field goes away.
fn without_validated_by(value: &Value) -> Option<Value> {
    let mut v = value.clone();
    if let Some(Value::Object(meta)) = v.get_mut("metadata") {
        if let Some(Value::Object(labels)) = meta.get_mut("labels") {
            if labels.remove(VALIDATED_BY).is_some() {
                if !labels.is_empty() {
                    return None;
                }
                meta.remove("labels");
            }
        }
    }
    Some(v)
}

/// Runs each validator configuration; one that changes, adds or drops an object fails.
pub fn validate(
    k: &Kustomization,
    configs: &[Resource],
    acc: &mut Vec<Resource>,
) -> Result<(), Error> {
    for cfg in configs {
        let before: Vec<Value> = acc.iter().map(|r| r.value.clone()).collect();
        super::transformers::run(k, std::slice::from_ref(cfg), acc)?;
        let changed = if before.len() != acc.len() {
            Some(format!(
                "{} objects before, {} after",
                before.len(),
                acc.len()
            ))
        } else {
            acc.iter()
                .zip(&before)
                .find(|(now, was)| without_validated_by(&now.value).as_ref() != Some(*was))
                .map(|(now, _)| format!("{} changed", now.id()))
        };
        if let Some(what) = changed {
            return Err(config_error(
                cfg,
                format!(
                    "validator shouldn't modify the resource map: {} {what}",
                    cfg.gvk().kind
                ),
            ));
        }
    }
    Ok(())
}
