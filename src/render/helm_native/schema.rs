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
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// Where helm registers the chart's schema, which error locations are relative to.
const SCHEMA_URL: &str = "file:///values.schema.json";

/// Reads what a schema references; notes whether it read a file, since a schema that
/// depends on files cannot be reused by its text alone.
struct Loader(Rc<Cell<bool>>);

impl boon::UrlLoader for Loader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn std::error::Error>> {
        if url.starts_with("urn:") {
            return Ok(Value::Bool(true));
        }
        if let Some(path) = url.strip_prefix("file://") {
            self.0.set(true);
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

/// A compiled schema.
type Compiled = Rc<(boon::Schemas, boon::SchemaIndex)>;

/// Compiled schemas by the SHA-256 of their text, for this thread: a build renders the same
/// chart for many environments, and compiling a large schema costs more than validating.
/// Schemas that read files are not kept. Bounded; cleared when full.
const COMPILED_MAX: usize = 64;

thread_local! {
    static COMPILED: RefCell<HashMap<[u8; 32], Compiled>> = RefCell::default();
}

fn compiled(schema: &[u8]) -> Result<Compiled, Error> {
    let key: [u8; 32] = Sha256::digest(schema).into();
    if let Some(c) = COMPILED.with(|m| m.borrow().get(&key).cloned()) {
        return Ok(c);
    }
    let read_files = Rc::new(Cell::new(false));
    let c = compile(schema, Loader(read_files.clone()))?;
    if !read_files.get() {
        COMPILED.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= COMPILED_MAX {
                m.clear();
            }
            m.insert(key, c.clone());
        });
    }
    Ok(c)
}

fn compile(schema: &[u8], loader: Loader) -> Result<Compiled, Error> {
    let doc: Value = serde_json::from_slice(schema).map_err(|e| {
        Error::Render(format!(
            "values don't meet the specifications of the schema(s): values.schema.json: {e}"
        ))
    })?;
    let mut compiler = boon::Compiler::new();
    compiler.use_loader(Box::new(loader));
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
    Ok(Rc::new((schemas, index)))
}

/// One schema against one chart's values: helm's text for the violations, `None` when valid.
fn validate_one(schema: &[u8], values: &Value) -> Result<Option<String>, Error> {
    let compiled = compiled(schema)?;
    let (schemas, index) = &*compiled;
    match schemas.validate(values, *index) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The compiled-schema cache is keyed by the schema's text: the same schema judges
    /// different values on their own, and another schema is not served from the cache.
    #[test]
    fn cached_schemas_judge_each_values_map_afresh() {
        let schema = br#"{"type":"object","properties":{"replicas":{"type":"integer"}}}"#;
        let good = json!({"replicas": 2});
        let bad = json!({"replicas": "two"});
        assert_eq!(validate_one(schema, &good).ok().flatten(), None);
        let err = validate_one(schema, &bad)
            .ok()
            .flatten()
            .unwrap_or_default();
        assert!(err.contains("replicas"), "{err}");
        assert_eq!(validate_one(schema, &good).ok().flatten(), None);
        let other = br#"{"type":"object","properties":{"replicas":{"type":"string"}}}"#;
        assert_eq!(validate_one(other, &bad).ok().flatten(), None);
        assert!(validate_one(other, &good).ok().flatten().is_some());
    }
}
