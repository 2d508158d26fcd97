//! Rendering every template of a chart and its enabled subcharts in one template set, as
//! Helm's engine does (`pkg/engine/engine.go`): parsed deepest path first so a parent's
//! `define` wins, each file executed with its own chart's scoped values, `<no value>` removed,
//! errors reworded as Helm words them.

use super::chart::{Chart, Metadata};
use super::funcs::{helm_funcs, WARN_END, WARN_START};
use super::objects::{Capabilities, Files};
use super::Error;
use gotmpl::{Elem, MissingKey, Templates, Value};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

/// One template file with the data it runs with.
struct Renderable {
    text: String,
    /// The chart's top-level data map (shared by its files, as Helm shares it).
    data: Value,
    base_path: String,
}

/// `.Release`.
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub is_upgrade: bool,
}

fn strings(items: &[String]) -> Value {
    Value::list(items.iter().map(|s| Value::str(s)).collect())
}

/// Helm v4's `MetadataAsMap`: Go field names, Go types.
fn metadata_map(m: &Metadata, is_root: bool) -> Value {
    let mut e = BTreeMap::new();
    let s = |v: &str| Value::str(v);
    e.insert("Name".into(), s(&m.name));
    e.insert("Home".into(), s(&m.home));
    e.insert("Sources".into(), strings(&m.sources));
    e.insert("Version".into(), s(&m.version));
    e.insert("Description".into(), s(&m.description));
    e.insert("Keywords".into(), strings(&m.keywords));
    let maint = m
        .maintainers
        .iter()
        .map(|x| {
            let mut mm = BTreeMap::new();
            mm.insert("Name".into(), s(&x.name));
            mm.insert("Email".into(), s(&x.email));
            mm.insert("URL".into(), s(&x.url));
            Value::map(mm)
        })
        .collect();
    e.insert("Maintainers".into(), Value::list(maint));
    e.insert("Icon".into(), s(&m.icon));
    e.insert("APIVersion".into(), s(&m.api_version));
    e.insert("Condition".into(), s(&m.condition));
    e.insert("Tags".into(), s(&m.tags));
    e.insert("AppVersion".into(), s(&m.app_version));
    e.insert("Deprecated".into(), Value::Bool(m.deprecated));
    let ann: BTreeMap<String, Value> = m
        .annotations
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), s(v)))
        .collect();
    e.insert(
        "Annotations".into(),
        Value::Map(Rc::new(std::cell::RefCell::new(gotmpl::Map {
            elem: Elem::String,
            entries: ann,
        }))),
    );
    e.insert("KubeVersion".into(), s(&m.kube_version));
    let deps = m
        .dependencies
        .iter()
        .flatten()
        .map(|d| {
            let mut dm = BTreeMap::new();
            dm.insert("Name".into(), s(&d.name));
            dm.insert("Version".into(), s(&d.version));
            dm.insert("Repository".into(), s(&d.repository));
            dm.insert("Condition".into(), s(&d.condition));
            dm.insert("Tags".into(), strings(&d.tags));
            dm.insert("Enabled".into(), Value::Bool(d.enabled));
            dm.insert(
                "ImportValues".into(),
                Value::list(d.import_values.iter().map(Value::from_json).collect()),
            );
            dm.insert("Alias".into(), s(&d.alias));
            Value::map(dm)
        })
        .collect();
    e.insert("Dependencies".into(), Value::list(deps));
    e.insert("Type".into(), s(&m.chart_type));
    e.insert("IsRoot".into(), Value::Bool(is_root));
    Value::map(e)
}

fn map_get(v: &Value, key: &str) -> Option<Value> {
    match v {
        Value::Map(m) => m.borrow().entries.get(key).cloned(),
        _ => None,
    }
}

/// Helm's `recAllTpls`: the chart's data map, its templates added to `out`.
fn collect(
    chart: &Chart,
    parent: Option<(&Value, &str)>,
    shared: &(Value, Value),
    out: &mut BTreeMap<String, Renderable>,
) -> Value {
    let is_root = parent.is_none();
    let full_path = match parent {
        None => chart.name().to_string(),
        Some((_, p)) => format!("{p}/charts/{}", chart.name()),
    };
    let values = match parent {
        None => shared.0.clone(),
        Some((pdata, _)) => {
            match map_get(pdata, "Values").and_then(|v| map_get(&v, chart.name())) {
                Some(v @ Value::Map(_)) => v,
                _ => Value::map(BTreeMap::new()),
            }
        }
    };
    let files: BTreeMap<String, Vec<u8>> = chart
        .files
        .iter()
        .map(|f| (f.name.clone(), f.data.clone()))
        .collect();
    let subcharts = Value::map(BTreeMap::new());
    let mut e = BTreeMap::new();
    e.insert("Chart".into(), metadata_map(&chart.metadata, is_root));
    e.insert(
        "Files".into(),
        Value::Object(Rc::new(Files(Arc::new(files)))),
    );
    e.insert(
        "Release".into(),
        map_get(&shared.1, "Release").unwrap_or(Value::Nil),
    );
    e.insert(
        "Capabilities".into(),
        map_get(&shared.1, "Capabilities").unwrap_or(Value::Nil),
    );
    e.insert("Values".into(), values);
    e.insert("Subcharts".into(), subcharts.clone());
    let data = Value::map(e);
    for sub in &chart.dependencies {
        let d = collect(sub, Some((&data, &full_path)), shared, out);
        if let Value::Map(m) = &subcharts {
            m.borrow_mut().entries.insert(sub.name().to_string(), d);
        }
    }
    for t in &chart.templates {
        if chart.is_library() && !t.name.rsplit('/').next().unwrap_or("").starts_with('_') {
            continue;
        }
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                text: utf8_text(&t.data),
                data: data.clone(),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    data
}

/// A template's text; invalid UTF-8 replaced as Go's conversion does. Checked with
/// `from_utf8` first: far faster than the lossy scan on the valid text charts hold.
fn utf8_text(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(data).into_owned(),
    }
}

/// Helm's parse order: deeper paths first, then reverse byte order, so that the last parsed
/// (and winning) `define` is the shallowest.
fn sort_templates(names: &mut [String]) {
    names.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
}

/// `cleanupParseError`.
fn parse_error(filename: &str, err: &str) -> Error {
    let tokens: Vec<&str> = err.split(": ").collect();
    if tokens.len() == 1 {
        return Error::Render(format!("parse error in ({filename}): {err}"));
    }
    Error::Render(format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    ))
}

/// `reformatExecErrorMsg`, for the errors Helm's users meet: `required`/`fail` messages are
/// quoted at the outermost location; other errors keep Go's text.
fn exec_error(filename: &str, err: &str) -> Error {
    if let Some(i) = err.find(super::funcs::UNSUPPORTED) {
        // "... error calling FUNC: WHAT is not supported ..."
        let head = &err[..i];
        let (func, what) = match head.rfind("error calling ") {
            Some(j) => head[j + 14..]
                .split_once(": ")
                .unwrap_or((&head[j + 14..], "")),
            None => ("", head.rsplit(": ").next().unwrap_or("")),
        };
        return Error::Unsupported(format!(
            "{filename}: `{func}`: {} {}; use `renderer: binary` (or `auto`) for this chart",
            what.trim(),
            super::funcs::UNSUPPORTED
        ));
    }
    let tokens: Vec<&str> = err.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return Error::Render(format!("execution error in ({filename}): {err}"));
    }
    if let Some(start) = tokens[2].find(WARN_START) {
        let rest = &tokens[2][start + WARN_START.len()..];
        if let Some(end) = rest.rfind(WARN_END) {
            return Error::Render(format!(
                "execution error at ({}): {}",
                tokens[1],
                &rest[..end]
            ));
        }
    }
    Error::Render(trace(err))
}

/// Helm's trace form of a nested execution error: each location, the function executing
/// there, and the innermost message.
fn trace(err: &str) -> String {
    let mut out = String::new();
    let mut rest = err;
    let mut last = String::new();
    while let Some(r) = rest.strip_prefix("template: ") {
        let Some(idx) = r.find(": executing \"") else {
            match r.rfind(": ") {
                Some(sep) => {
                    let msg = &r[sep + 2..];
                    let msg = msg.split(" template:").next().unwrap_or(msg);
                    out.push_str(&format!("{}\n  {msg}\n", &r[..sep]));
                }
                // A message with no location (a template that does not exist): as it is.
                None => out.push_str(rest),
            }
            return out.trim().to_string();
        };
        let location = &r[..idx];
        let after = &r[idx + ": executing \"".len()..];
        let Some(q) = after.find('"') else { break };
        let func = &after[..q];
        let Some(at) = after[q + 1..].strip_prefix(" at <") else {
            break;
        };
        let Some(end) = at.find(">: ") else { break };
        let node = &at[..end];
        let msg = &at[end + 3..];
        let inner = msg.find("template: ");
        let shown = match inner {
            Some(i) => msg[..i].trim_end(),
            None => msg,
        };
        let shown = shown.split(" template:").next().unwrap_or(shown);
        let entry = format!("{location}\n  executing \"{func}\" at <{node}>:\n    {shown}\n");
        if entry != last {
            out.push_str(&entry);
            last = entry;
        }
        match inner {
            Some(i) => rest = &msg[i..],
            None => return out.trim().to_string(),
        }
    }
    if out.is_empty() {
        err.to_string()
    } else {
        out.trim().to_string()
    }
}

/// Renders every template; the result maps template paths to their text (partials and
/// `NOTES.txt` dropped later).
pub fn render(
    chart: &Chart,
    values: Value,
    caps: Capabilities,
    release: &Release,
) -> Result<BTreeMap<String, String>, Error> {
    let mut rel = BTreeMap::new();
    rel.insert("Name".into(), Value::str(&release.name));
    rel.insert("Namespace".into(), Value::str(&release.namespace));
    rel.insert("IsUpgrade".into(), Value::Bool(release.is_upgrade));
    rel.insert("IsInstall".into(), Value::Bool(!release.is_upgrade));
    rel.insert("Revision".into(), Value::Int(1));
    rel.insert("Service".into(), Value::str("Helm"));
    let mut top = BTreeMap::new();
    top.insert("Release".into(), Value::map(rel));
    top.insert("Capabilities".into(), Value::Object(Rc::new(caps)));
    let shared = (values, Value::map(top));
    let mut tpls = BTreeMap::new();
    collect(chart, None, &shared, &mut tpls);

    let mut set = Templates::with_funcs(helm_funcs());
    set.missing_key = MissingKey::Zero;
    let mut keys: Vec<String> = tpls.keys().cloned().collect();
    sort_templates(&mut keys);
    for name in &keys {
        set.parse(name, &tpls[name].text)
            .map_err(|e| parse_error(name, &e.to_string()))?;
    }
    let mut rendered = BTreeMap::new();
    for name in &keys {
        if name.rsplit('/').next().unwrap_or("").starts_with('_') {
            continue;
        }
        let r = &tpls[name];
        if let Value::Map(m) = &r.data {
            let mut t = BTreeMap::new();
            t.insert("Name".into(), Value::str(name));
            t.insert("BasePath".into(), Value::str(&r.base_path));
            m.borrow_mut()
                .entries
                .insert("Template".into(), Value::map(t));
        }
        let out = set
            .execute(name, r.data.clone())
            .map_err(|e| exec_error(name, &e.to_string()))?;
        rendered.insert(name.clone(), out.replace("<no value>", ""));
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_order_puts_shallow_last() {
        let mut v = vec![
            "a/templates/x.yaml".to_string(),
            "a/charts/b/templates/_h.tpl".to_string(),
            "a/templates/_h.tpl".to_string(),
        ];
        sort_templates(&mut v);
        assert_eq!(
            v,
            [
                "a/charts/b/templates/_h.tpl",
                "a/templates/x.yaml",
                "a/templates/_h.tpl"
            ]
        );
    }

    #[test]
    fn required_errors_read_as_helm() {
        let e = exec_error(
            "c/templates/d.yaml",
            "template: c/templates/d.yaml:64:41: executing \"c/templates/d.yaml\" at <required \"x\" .Values.a>: error calling required: HELM_ERR_STARTx requiredHELM_ERR_END",
        );
        assert_eq!(
            e.to_string(),
            "execution error at (c/templates/d.yaml:64:41): x required"
        );
    }
}
