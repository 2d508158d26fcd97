//! Values as Helm builds them: YAML read with YAML 1.1 rules through JSON, `-f` files merged in
//! order, the chart's defaults coalesced under them with subchart scoping, `global` copied
//! down, and `null` deleting a default (`pkg/chart/common/util/coalesce.go`).

use serde_json::{Map, Value};

pub type Values = Map<String, Value>;

/// Reads one YAML document as `sigs.k8s.io/yaml` `Unmarshal` into a map does. An empty
/// document is an empty map.
pub fn read_yaml_map(data: &[u8], what: &str) -> Result<Values, String> {
    let text = std::str::from_utf8(data).map_err(|_| format!("{what} is not UTF-8 text"))?;
    if text.trim().is_empty() || only_comments(text) {
        return Ok(Map::new());
    }
    match crate::render::kustomize_native::yaml11::read(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(format!(
            "error unmarshaling JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        )),
        Err(crate::render::kustomize_native::yaml11::Unread::Invalid(m)) => Err(m),
        Err(crate::render::kustomize_native::yaml11::Unread::Unsupported) => {
            // Tags, merge keys or a YAML error: say which by asking a full parser.
            match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) {
                Err(e) => Err(format!("error converting YAML to JSON: {e}")),
                Ok(_) => Err(format!(
                    "{what} uses YAML that ferry's native Helm does not read yet (tags, merge keys \
                     or several documents); use `renderer: binary` for this chart"
                )),
            }
        }
    }
}

fn only_comments(text: &str) -> bool {
    text.lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        _ => "value",
    }
}

/// `values.yaml`: every document of the stream, merged (Helm's `LoadValues`).
pub fn load_values(data: &[u8]) -> Result<Values, String> {
    let text =
        std::str::from_utf8(data).map_err(|_| "values.yaml is not UTF-8 text".to_string())?;
    let mut out = Map::new();
    let mut doc = String::new();
    let flush = |doc: &mut String, out: &mut Values| -> Result<(), String> {
        let m = read_yaml_map(doc.as_bytes(), "values.yaml")?;
        merge_maps(out, m);
        doc.clear();
        Ok(())
    };
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            flush(&mut doc, &mut out)?;
        } else {
            doc.push_str(line);
        }
    }
    flush(&mut doc, &mut out)?;
    Ok(super::float64_map(out))
}

/// Helm's `mergeMaps`/`MergeMaps`: `b` over `a`, maps merged key by key, anything else
/// replaced.
pub fn merge_maps(a: &mut Values, b: Values) {
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(Value::Object(av)), Value::Object(bv)) => merge_maps(av, bv),
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Object(_))
}

/// What a chart contributes to coalescing: its name, values and subcharts.
pub trait ValueSource {
    fn name(&self) -> &str;
    fn values(&self) -> &Values;
    fn subcharts(&self) -> Vec<&Self>;
}

impl ValueSource for super::chart::Chart {
    fn name(&self) -> &str {
        super::chart::Chart::name(self)
    }
    fn values(&self) -> &Values {
        &self.values
    }
    fn subcharts(&self) -> Vec<&Self> {
        self.dependencies.iter().collect()
    }
}

/// `CoalesceValues` (merge = false) or `MergeValues` (merge = true) of `vals` over the chart.
pub fn coalesce<C: ValueSource>(chart: &C, vals: &Values, merge: bool) -> Values {
    let mut dest = vals.clone();
    coalesce_into(chart, &mut dest, merge);
    dest
}

fn coalesce_into<C: ValueSource>(chart: &C, dest: &mut Values, merge: bool) {
    coalesce_values(chart, dest, merge);
    coalesce_deps(chart, dest, merge);
}

fn coalesce_deps<C: ValueSource>(chart: &C, dest: &mut Values, merge: bool) {
    for sub in chart.subcharts() {
        let name = sub.name().to_string();
        match dest.get(&name) {
            None => {
                dest.insert(name.clone(), Value::Object(Map::new()));
            }
            Some(v) if !is_table(v) => {
                // Helm fails here ("type mismatch"); keep its value and skip the subchart.
                continue;
            }
            _ => {}
        }
        let parent_global = dest.get("global").cloned();
        if let Some(Value::Object(dv)) = dest.get_mut(&name) {
            coalesce_globals(dv, parent_global.as_ref());
            coalesce_into(sub, dv, merge);
        }
    }
}

/// Copies the parent's `global` into a subchart's values: the parent's keys win over the
/// subchart's for scalars; tables merge with the parent's values on top.
fn coalesce_globals(dest: &mut Values, src_global: Option<&Value>) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    let sg = match src_global {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    for (key, val) in sg {
        if let Value::Object(vm) = &val {
            let mut vv = vm.clone();
            match dg.get(&key) {
                None => {
                    dg.insert(key, Value::Object(vv));
                }
                Some(Value::Object(destv)) => {
                    let mut destv = destv.clone();
                    coalesce_tables(&mut vv, &mut destv, true);
                    dg.insert(key, Value::Object(vv));
                }
                Some(_) => {}
            }
        } else if dg.get(&key).is_some_and(is_table) {
            // A table in the subchart is not replaced by a scalar.
        } else {
            dg.insert(key, val);
        }
    }
    dest.insert("global".into(), Value::Object(dg));
}

fn coalesce_values<C: ValueSource>(chart: &C, v: &mut Values, merge: bool) {
    let subs: Vec<String> = chart
        .subcharts()
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    for (key, val) in chart.values().clone() {
        match v.get_mut(&key) {
            Some(Value::Null) if !merge => {
                v.remove(&key);
            }
            Some(Value::Object(dest)) => {
                if let Value::Object(mut src) = val {
                    let merge = merge || subs.contains(&key);
                    coalesce_tables(dest, &mut src, merge);
                }
            }
            Some(_) => {}
            None => {
                v.insert(key, val);
            }
        }
    }
}

/// Helm's `coalesceTablesFullKey`: `src` (defaults) under `dst` (overrides). Without `merge`,
/// a `null` in `dst` deletes the default.
pub fn coalesce_tables(dst: &mut Values, src: &mut Values, merge: bool) {
    let src_non_nil: std::collections::HashSet<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for (key, val) in dst.iter() {
        if val.is_null() {
            src.insert(key.clone(), Value::Null);
        }
    }
    let keys: Vec<String> = src.keys().cloned().collect();
    for key in keys {
        let val = src.get_mut(&key).map(std::mem::take).unwrap_or_default();
        match dst.get_mut(&key) {
            Some(Value::Null) if !merge && src_non_nil.contains(&key) => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key.clone(), val.clone());
            }
            Some(Value::Object(dv)) => {
                if let Value::Object(mut sv) = val.clone() {
                    coalesce_tables(dv, &mut sv, merge);
                }
            }
            Some(_) => {}
        }
        if let Some(slot) = src.get_mut(&key) {
            *slot = val;
        }
    }
}

/// `Values.PathValue`: the value at a dotted path whose last element is a key of a table.
pub fn path_value<'a>(v: &'a Values, path: &str) -> Option<&'a Value> {
    let parts: Vec<&str> = path.split('.').collect();
    let (last, tables) = parts.split_last()?;
    let mut cur = v;
    for t in tables {
        match cur.get(*t) {
            Some(Value::Object(m)) => cur = m,
            _ => return None,
        }
    }
    cur.get(*last)
}

/// `Values.Table`: the table at a dotted path.
pub fn table<'a>(v: &'a Values, path: &str) -> Option<&'a Values> {
    let mut cur = v;
    for t in path.split('.') {
        match cur.get(t) {
            Some(Value::Object(m)) => cur = m,
            _ => return None,
        }
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct C {
        name: String,
        values: Values,
        subs: Vec<C>,
    }
    impl ValueSource for C {
        fn name(&self) -> &str {
            &self.name
        }
        fn values(&self) -> &Values {
            &self.values
        }
        fn subcharts(&self) -> Vec<&Self> {
            self.subs.iter().collect()
        }
    }
    fn obj(v: Value) -> Values {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn coalesce_scopes_globals_and_nulls() {
        let chart = C {
            name: "p".into(),
            values: obj(
                json!({"a": 1, "b": {"c": 2, "d": 3}, "global": {"g": 1}, "sub": {"x": 1}}),
            ),
            subs: vec![C {
                name: "sub".into(),
                values: obj(json!({"x": 0, "y": 2, "global": {"g": 0, "h": 2}})),
                subs: vec![],
            }],
        };
        let user = obj(json!({"b": {"d": null}, "a": 5}));
        let out = coalesce(&chart, &user, false);
        assert_eq!(
            Value::Object(out),
            json!({"a": 5, "b": {"c": 2}, "global": {"g": 1},
                   "sub": {"x": 1, "y": 2, "global": {"g": 1, "h": 2}}})
        );
    }

    #[test]
    fn values_documents_merge() {
        let v = load_values(b"a: 1\nb: {c: 1}\n---\nb: {d: on}\n").unwrap();
        // Numbers are float64, as helm reads them.
        assert_eq!(
            Value::Object(v),
            json!({"a": 1.0, "b": {"c": 1.0, "d": true}})
        );
    }
}
