//! `ferry.yaml`, the pipeline file: its model, loading with key paths and lines, validation,
//! and resolution of each app for one environment.

mod error;
mod images;
mod locate;
mod model;
mod resolve;
mod template;
mod tenants;

pub use error::ConfigError;
pub use images::{
    FilterTags, ImagePolicyOverride, ImagePolicySpec, OrderPolicy, PolicyChoice, SemverPolicy,
};
pub use locate::line_of;
use model::is_dns_label;
pub use model::{
    App, AppOverride, ChartRef, Environment, HelmApp, KustomizeApp, Pipeline, PlainApp,
    RendererChoice, SealRule, Signing, API_VERSION, KIND,
};
pub(crate) use resolve::merge_maps;
pub use resolve::{
    resolve, FluxRendered, FluxSource, HelmFlags, ResolvedApp, ResolvedHelm, ResolvedSource,
    SecretValues, HELM_SET_FLAGS,
};
pub use template::STARTER;
pub use tenants::{Tenant, DEFAULT_SERVICE_ACCOUNT};

use std::path::Path;

/// The file name looked for at the repository root.
pub const FILE_NAME: &str = "ferry.yaml";

/// Parses and validates a pipeline file. `file` is only used in messages.
pub fn parse(file: &Path, text: &str) -> Result<Pipeline, ConfigError> {
    // serde keeps the last of two `podinfo:` under `apps:`: refused first, with both lines.
    crate::manifest::strict::check_rules(text).map_err(|e| ConfigError::Invalid {
        file: file.to_path_buf(),
        key: e.path,
        line: Some(e.line),
        message: e.kind.to_string(),
        hint: None,
    })?;
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let pipeline: Pipeline = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner
            .location()
            .map(|l| l.line())
            .or_else(|| line_of(text, &path));
        let on_line = line.and_then(|l| text.lines().nth(l.saturating_sub(1))).unwrap_or("");
        let hint = (on_line.contains("${") && on_line.contains('['))
            .then(|| "inside `[...]` a value with `${env}` must be quoted: [\"a-${env}.yaml\"], or use a block list".to_string());
        let mut message = strip_location(&inner.to_string());
        // serde_yaml_ng puts the path of the map in front; the key path already says it (for an
        // unknown field, the key path goes one further, to the field itself).
        if let Some((head, rest)) = message.split_once(": ") {
            if path.starts_with(head) {
                message = rest.to_string();
            }
        }
        ConfigError::Invalid {
            file: file.to_path_buf(),
            key: if path == "." { String::new() } else { path },
            line,
            message,
            hint,
        }
    })?;
    pipeline.validate(file, text)?;
    Ok(pipeline)
}

fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
