//! Field paths of `replacements` (kyaml's `SmarterPathSplitter` and `PathMatcher`): dotted
//! parts that are map keys, list indexes (`0`), list entries (`[name=app]`, `[=value]`) or
//! `*`, with brackets keeping dots inside a key (`[cert-manager.io/inject-ca-from]`).

use regex::Regex;
use serde_json::{Map, Value};

/// Splits on unescaped `.` (a leading `.` is ignored) and rejoins bracketed parts. A bracket
/// part with `=` stays a list entry selector; without, it is a plain key and loses its brackets.
pub fn split(path: &str) -> Vec<String> {
    let mut raw: Vec<&str> = path.split('.').collect();
    if raw.len() > 1 && raw[0].is_empty() {
        raw.remove(0);
    }
    let mut escaped: Vec<String> = Vec::new();
    for part in raw {
        match escaped.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(part);
            }
            _ => escaped.push(part.to_string()),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < escaped.len() {
        let part = &escaped[i];
        if part.starts_with('[') && !part.ends_with(']') {
            let mut joined = vec![part.clone()];
            while i + 1 < escaped.len() {
                i += 1;
                joined.push(escaped[i].clone());
                if escaped[i].ends_with(']') {
                    break;
                }
            }
            let joined = joined.join(".");
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_matches(['[', ']']).to_string());
            }
        } else {
            out.push(part.clone());
        }
        i += 1;
    }
    out
}

/// A list-entry pattern: a plain string is a substring test, anything else a regex.
enum Unanchored {
    Text(String),
    Regex(Regex),
}

impl Unanchored {
    fn new(p: &str) -> Result<Unanchored, regex::Error> {
        if p.chars()
            .all(|c| c.is_alphanumeric() || "-_/:@ ".contains(c))
        {
            Ok(Unanchored::Text(p.to_string()))
        } else {
            Regex::new(p).map(Unanchored::Regex)
        }
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            Unanchored::Text(t) => s.contains(t.as_str()),
            Unanchored::Regex(re) => re.is_match(s),
        }
    }
}

/// What a missing part is created as: `None` creates nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Create {
    None,
    Scalar,
    Mapping,
    Sequence,
}

impl Create {
    pub fn of(value: &Value) -> Create {
        match value {
            Value::Object(_) => Create::Mapping,
            Value::Array(_) => Create::Sequence,
            _ => Create::Scalar,
        }
    }

    fn empty(self) -> Value {
        match self {
            Create::Mapping => Value::Object(Map::new()),
            Create::Sequence => Value::Array(Vec::new()),
            // A created scalar has no type yet: the value written into it decides (see `set`).
            Create::Scalar | Create::None => Value::Null,
        }
    }
}

fn is_index(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
}

fn is_entry(part: &str) -> bool {
    part.starts_with('[') && part.ends_with(']')
}

/// The kind of node a part needs to look into: lists for indexes and entries, mappings for
/// keys, and the leaf kind after the last part.
fn container_for(next: Option<&String>, leaf: Create) -> Create {
    match next {
        None => leaf,
        Some(p) if is_index(p) || is_entry(p) => Create::Sequence,
        Some(_) => Create::Mapping,
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// JSON pointers of every node `path` reaches in `node`, creating missing parts when asked.
/// A scalar met before the path ends is an error, as in kustomize v5.7.1 (later versions look
/// inside it as embedded YAML or JSON).
pub fn find(node: &mut Value, path: &[String], create: Create) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    walk(node, path, create, String::new(), &mut out)?;
    Ok(out)
}

fn walk(
    node: &mut Value,
    path: &[String],
    create: Create,
    at: String,
    out: &mut Vec<String>,
) -> Result<(), String> {
    let Some((part, rest)) = path.split_first() else {
        out.push(at);
        return Ok(());
    };
    let creating = create != Create::None;
    if creating && node.is_null() {
        *node = container_for(Some(part), create).empty();
    }
    if is_index(part) {
        let Value::Array(items) = node else {
            return Err(format!(
                "wrong node kind: expected a list at '{at}' for index '{part}', found {}",
                super::super::resource::kind_name(node)
            ));
        };
        let idx: usize = part
            .parse()
            .map_err(|_| format!("list index '{part}' is too large"))?;
        if creating && idx == items.len() {
            items.push(container_for(rest.first(), create).empty());
        }
        let len = items.len();
        let item = items
            .get_mut(idx)
            .ok_or_else(|| format!("index {idx} specified but only {len} elements found"))?;
        return walk(item, rest, create, format!("{at}/{idx}"), out);
    }
    if is_entry(part) {
        let inner = &part[1..part.len() - 1];
        let (key, want) = inner
            .split_once('=')
            .ok_or_else(|| format!("'{part}' must have the form [field=value]"))?;
        // kyaml matches the value against the pattern unanchored (`regexp.MatchString`).
        let re = Unanchored::new(want).map_err(|e| format!("invalid pattern in '{part}': {e}"))?;
        let Value::Array(items) = node else {
            return Err(format!(
                "'{part}' selects list entries but the field at '{at}' is not a list"
            ));
        };
        let matches = |item: &Value| {
            let v = if key.is_empty() {
                Some(item)
            } else {
                item.get(key)
            };
            v.filter(|v| !v.is_null())
                .and_then(crate::render::kustomize_native::fieldspec::scalar_text)
                .is_some_and(|t| re.is_match(&t))
        };
        if creating && !items.iter().any(matches) {
            let value = Value::String(want.to_string());
            items.push(if key.is_empty() {
                value
            } else {
                Value::Object(Map::from_iter([(key.to_string(), value)]))
            });
        }
        for (i, item) in items.iter_mut().enumerate() {
            if matches(item) {
                walk(item, rest, create, format!("{at}/{i}"), out)?;
            }
        }
        return Ok(());
    }
    if part == "*" {
        let Value::Array(items) = node else {
            return Err(format!("'*' needs a list at '{at}'"));
        };
        for (i, item) in items.iter_mut().enumerate() {
            walk(item, rest, create, format!("{at}/{i}"), out)?;
        }
        return Ok(());
    }
    let Value::Object(map) = node else {
        if node.is_null() {
            return Ok(());
        }
        return Err(format!(
            "wrong node kind: expected a mapping at '{}' for '{part}', found {}",
            if at.is_empty() { "/" } else { &at },
            super::super::resource::kind_name(node)
        ));
    };
    if !map.contains_key(part.as_str()) {
        if !creating {
            return Ok(());
        }
        map.insert(part.clone(), container_for(rest.first(), create).empty());
    }
    let child = map
        .get_mut(part.as_str())
        .expect("present or just inserted");
    walk(child, rest, create, format!("{at}/{}", escape(part)), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts(p: &str) -> Vec<String> {
        split(p)
    }

    #[test]
    fn splits_like_kyaml() {
        assert_eq!(parts(".metadata.name"), ["metadata", "name"]);
        assert_eq!(
            parts("metadata.annotations.[cert-manager.io/inject-ca-from]"),
            ["metadata", "annotations", "cert-manager.io/inject-ca-from"]
        );
        assert_eq!(
            parts("spec.containers.[name=a.b].image"),
            ["spec", "containers", "[name=a.b]", "image"]
        );
        assert_eq!(parts(r"data.a\.b"), ["data", "a.b"]);
    }

    #[test]
    fn creates_lists_for_indexes_and_maps_for_keys() {
        let mut v = json!({"spec": {}});
        let found = find(&mut v, &parts("spec.dnsNames.0"), Create::Scalar).expect("finds");
        assert_eq!(found, ["/spec/dnsNames/0"]);
        assert_eq!(v, json!({"spec": {"dnsNames": [null]}}));
        let found = find(&mut v, &parts("spec.dnsNames.2"), Create::Scalar);
        assert!(found.expect_err("gap").contains("only 1 elements"));
    }

    #[test]
    fn entries_select_and_create() {
        let mut v = json!({"c": [{"name": "a", "x": 1}, {"name": "b"}]});
        let found = find(&mut v, &parts("c.[name=b].x"), Create::None).expect("finds");
        assert!(found.is_empty(), "no x in b and nothing created");
        let found = find(&mut v, &parts("c.[name=z].x"), Create::Scalar).expect("creates");
        assert_eq!(found, ["/c/2/x"]);
        assert_eq!(v["c"][2], json!({"name": "z", "x": null}));
    }

    #[test]
    fn entry_values_match_unanchored_as_in_kyaml() {
        let mut v = json!({"c": [{"name": "web"}, {"name": "web-side"}, {"name": "db"}]});
        let found = find(&mut v, &parts("c.[name=web].x"), Create::Scalar).expect("finds");
        assert_eq!(found, ["/c/0/x", "/c/1/x"]);
        let found = find(&mut v, &parts("c.[name=^d]"), Create::None).expect("finds");
        assert_eq!(found, ["/c/2"]);
    }

    #[test]
    fn scalar_in_the_middle_is_an_error() {
        let mut v = json!({"data": {"cfg": "a: 1"}});
        let err = find(&mut v, &parts("data.cfg.a"), Create::None).expect_err("scalar");
        assert!(err.contains("expected a mapping at '/data/cfg'"), "{err}");
    }
}
