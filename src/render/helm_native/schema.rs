//! values.schema.json, validated as helm v4.1.4 does (`pkg/chart/common/util/jsonschema.go`):
//! the chart's coalesced values against its schema, then each enabled subchart's values
//! (the parent's key named after it) against the subchart's, recursively; all failures
//! gathered into one error, each chart's under its name. Helm validates with
//! santhosh-tekuri/jsonschema v6; boon is its author's Rust port, with the same drafts
//! (4 to 2020-12, 2020-12 when `$schema` is absent) and the same error words.
//!
//! References: `urn:` ones read as the permissive `true` schema, as helm does when nothing
//! resolves them; `file:` ones as local files, as helm does; `http(s):` ones are refused, since
//! rendering never touches the network (the binary fetches them).

use super::chart::Chart;
use super::Error;
use serde_json::Value;

/// Where helm registers the chart's schema, which error locations are relative to.
const SCHEMA_URL: &str = "file:///values.schema.json";

struct Loader;

impl boon::UrlLoader for Loader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn std::error::Error>> {
        if url.starts_with("urn:") {
            return Ok(Value::Bool(true));
        }
        if let Some(path) = url.strip_prefix("file://") {
            let data = std::fs::read(path)?;
            return Ok(serde_json::from_slice(&data)?);
        }
        Err(format!(
            "{url}: schema references over the network {}",
            super::funcs::UNSUPPORTED
        )
        .into())
    }
}

/// One schema against one chart's values: helm's text for the violations, `None` when valid.
fn validate_one(schema: &[u8], values: &Value) -> Result<Option<String>, Error> {
    let doc: Value = serde_json::from_slice(schema).map_err(|e| {
        Error::Render(format!(
            "values don't meet the specifications of the schema(s): values.schema.json: {e}"
        ))
    })?;
    let mut compiler = boon::Compiler::new();
    compiler.use_loader(Box::new(Loader));
    let mut schemas = boon::Schemas::new();
    let compile_error = |e: boon::CompileError| {
        let text = e.to_string();
        if text.contains(super::funcs::UNSUPPORTED) {
            Error::Unsupported(text)
        } else {
            Error::Render(format!("values.schema.json: {text}"))
        }
    };
    compiler
        .add_resource(SCHEMA_URL, doc)
        .map_err(compile_error)?;
    let index = compiler
        .compile(SCHEMA_URL, &mut schemas)
        .map_err(compile_error)?;
    match schemas.validate(values, index) {
        Ok(()) => Ok(None),
        Err(e) => {
            let text = super::schema_words::go_error(&e);
            // Helm drops the validator's first line (which names the schema).
            let body = match text.split_once('\n') {
                Some((first, rest)) if first.starts_with("jsonschema validation failed") => rest,
                _ => &text,
            };
            Ok(Some(format!("{body}\n")))
        }
    }
}

/// Helm's `ValidateAgainstSchema`: the violations of `chart` and its subcharts, as helm
/// lists them.
fn violations(chart: &Chart, values: &serde_json::Map<String, Value>) -> Result<String, Error> {
    let mut out = String::new();
    if let Some(schema) = &chart.schema {
        if let Some(err) = validate_one(schema, &Value::Object(values.clone()))? {
            out.push_str(&format!("{}:\n{err}", chart.name()));
        }
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => out.push_str(&violations(sub, m)?),
            Some(other) => out.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                super::typed::go_type(other)
            )),
        }
    }
    Ok(out)
}

/// Helm's coalescing refuses a subchart's values that are not a map (`coalesceDeps`), before
/// any schema is read: `type mismatch on NAME: %t` of the value, as Go prints it.
pub fn check_subchart_tables(
    chart: &Chart,
    values: &serde_json::Map<String, Value>,
) -> Result<(), Error> {
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => check_subchart_tables(sub, m)?,
            Some(v) => {
                let shown = match v {
                    Value::Bool(b) => b.to_string(),
                    v => format!(
                        "%!t({}={})",
                        super::typed::go_type(v),
                        gotmpl::gofmt::format_v(&super::typed::to_template(v))
                    ),
                };
                return Err(Error::Render(format!(
                    "chart dependencies processing failed: type mismatch on {}: {shown}",
                    sub.name()
                )));
            }
        }
    }
    Ok(())
}

/// Validates the coalesced values of `chart` (already stripped of disabled subcharts), as
/// `helm template` does before rendering.
pub fn validate(chart: &Chart, values: &serde_json::Map<String, Value>) -> Result<(), Error> {
    let text = violations(chart, values)?;
    if text.is_empty() {
        return Ok(());
    }
    Err(Error::Render(format!(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{}",
        text.trim_end_matches('\n')
    )))
}
