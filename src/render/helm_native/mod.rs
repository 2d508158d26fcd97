//! `helm template` in process, byte-identical to helm v4.1.4: chart loading ([`chart`]),
//! dependencies ([`deps`]), values ([`values`]), Helm's functions and objects ([`funcs`],
//! [`objects`]) on ferry's Go template engine (`gotmpl`), rendering ([`engine`]) and the
//! printed stream ([`output`]).
//!
//! values.schema.json is validated ([`schema`]) as helm validates it.
//!
//! Every function of helm v4.1.4 is here. Not yet here (the binary renders these,
//! `renderer: auto` hands them over): EC keys on curves other than P-256 and PKCS#8 keys of
//! other algorithms in the `...WithKey` functions, which fail with [`Error::Unsupported`].

mod chart;
mod crypto;
mod data;
mod deps;
mod der;
mod engine;
mod funcs;
mod glob;
mod keys;
mod map_key;
mod objects;
mod output;
mod passwords;
mod rsa_keygen;
mod schema;
mod schema_words;
mod text_memo;
mod typed;
mod values;

pub use chart::{load, load_from_tree, Chart};
pub use objects::{DEFAULT_KUBE_VERSION, HELM_VERSION};
pub use values::{load_values, merge_maps, Values};

use std::path::Path;

/// What the native renderer's output matches; part of its cache fingerprint.
pub const NATIVE_HELM_COMPAT: &str = "helm v4.1.4";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chart could not be loaded.
    #[error("{0}")]
    Chart(String),
    /// Rendering failed; worded as helm words it (after its `Error: `).
    #[error("{0}")]
    Render(String),
    /// The chart needs something native rendering lacks (named in the message); the binary
    /// renders it.
    #[error("{0}")]
    Unsupported(String),
    /// A values file could not be read.
    #[error("{0}")]
    Values(String),
}

/// `helm template` options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub release_name: String,
    pub namespace: String,
    /// `--kube-version`; empty for helm's default.
    pub kube_version: String,
    /// `--api-versions`.
    pub api_versions: Vec<String>,
    pub include_crds: bool,
    pub skip_tests: bool,
    pub no_hooks: bool,
    pub is_upgrade: bool,
    /// `--skip-schema-validation`: values.schema.json files are not read.
    pub skip_schema_validation: bool,
    /// The user's values: `-f` files and `--set`s already merged in order.
    pub values: Values,
}

/// Reads a `-f` values file as helm does (`sigs.k8s.io/yaml`, first document).
pub fn read_values_file(data: &[u8], name: &str) -> Result<Values, Error> {
    values::read_yaml_map(data, name)
        .map(float64_map)
        .map_err(|e| Error::Values(format!("failed to parse {name}: {e}")))
}

/// A values map with every number a float64, as helm holds values it read from YAML or JSON
/// (an integer number in a values map is an int64 from `--set`: see [`typed`]).
pub fn float64_map(m: Values) -> Values {
    match typed::as_float64(serde_json::Value::Object(m)) {
        serde_json::Value::Object(m) => m,
        _ => Values::new(),
    }
}

/// Renders the chart at `path` (a directory or `.tgz`) as `helm template` prints it.
pub fn render(path: &Path, opts: &Options) -> Result<String, Error> {
    let chart = chart::load(path)?;
    render_chart(chart, opts)
}

/// Renders a loaded chart.
pub fn render_chart(mut chart: Chart, opts: &Options) -> Result<String, Error> {
    let kube_text = if opts.kube_version.is_empty() {
        DEFAULT_KUBE_VERSION
    } else {
        &opts.kube_version
    };
    let kube = objects::KubeVersion::parse(kube_text).map_err(Error::Render)?;
    check_dependencies(&chart)?;
    deps::process(&mut chart, &opts.values);
    let vals = values::coalesce(&chart, &opts.values, false);
    schema::check_subchart_tables(&chart, &vals)?;
    if !opts.skip_schema_validation {
        schema::validate(&chart, &vals)?;
    }
    if !chart.metadata.kube_version.is_empty()
        && !gotmpl::sprig::semver::semver_compare(&chart.metadata.kube_version, &kube.normalized)
            .unwrap_or(false)
    {
        return Err(Error::Render(format!(
            "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
            chart.metadata.kube_version, kube.version
        )));
    }
    let caps = objects::Capabilities {
        kube,
        apis: objects::VersionSet::with_extra(&opts.api_versions),
    };
    let release = engine::Release {
        name: opts.release_name.clone(),
        namespace: opts.namespace.clone(),
        is_upgrade: opts.is_upgrade,
    };
    let values = typed::to_template(&serde_json::Value::Object(vals));
    let mut files = engine::render(&chart, values, caps, &release)?;
    files.retain(|k, _| !k.ends_with("NOTES.txt"));
    let (manifests, hooks) = output::sort_manifests(&files)?;
    let mut crds = Vec::new();
    if opts.include_crds {
        collect_crds(&chart, None, &mut crds);
    }
    Ok(output::print(
        &manifests,
        &hooks,
        &output::Print {
            crds: &crds,
            skip_tests: opts.skip_tests,
            no_hooks: opts.no_hooks,
        },
    ))
}

/// Helm's `CheckDependencies` of the top chart: every dependency Chart.yaml names must be
/// under `charts/`.
fn check_dependencies(c: &Chart) -> Result<(), Error> {
    let missing: Vec<&str> = c
        .metadata
        .dependencies
        .iter()
        .flatten()
        .filter(|r| !c.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Render(format!(
        "an error occurred while checking for chart dependencies. You may need to run `helm \
         dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in \
         charts/ directory: {}",
        missing.join(", ")
    )))
}

/// Helm's `CRDObjects`: this chart's `crds/` files, then its subcharts'.
fn collect_crds(c: &Chart, parent: Option<&str>, out: &mut Vec<(String, String)>) {
    let full = match parent {
        None => c.name().to_string(),
        Some(p) => format!("{p}/charts/{}", c.name()),
    };
    for f in c.crd_files() {
        out.push((
            format!("{full}/{}", f.name),
            String::from_utf8_lossy(&f.data).into_owned(),
        ));
    }
    for d in &c.dependencies {
        collect_crds(d, Some(&full), out);
    }
}
