//! Field specs: where in which kinds a transformer writes (`api/filters/fieldspec`). A path
//! such as `spec/template/metadata/labels` walks mappings, visits every element of a list
//! it meets, and creates what is missing when the spec says `create`.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
}

impl FieldSpec {
    pub fn new(group: &str, version: &str, kind: &str, path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            path: path.into(),
            create,
        }
    }

    /// Empty group, version or kind match anything.
    /// `group` and `version` are an `apiVersion` split as [`super::resource::Gvk::of`] splits it.
    pub fn selects(&self, group: &str, version: &str, kind: &str) -> bool {
        (self.kind.is_empty() || self.kind == kind)
            && (self.group.is_empty() || self.group == group)
            && (self.version.is_empty() || self.version == version)
    }
}

/// What a missing last field is created as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Never create (kustomize's `CreateKind` 0).
    Nothing,
    Scalar,
    Mapping,
}

/// Called with the node a path reaches and its JSON pointer in the object.
pub type Setter<'a> = dyn FnMut(&mut Value, &str) -> Result<(), String> + 'a;

/// Applies `set` at every node `spec.path` reaches in `object`, when the spec selects it.
pub fn apply(
    spec: &FieldSpec,
    object: &mut Value,
    create: Create,
    set: &mut Setter<'_>,
) -> Result<(), String> {
    // `Gvk::of`, without copying the strings: most specs do not select most objects.
    let api_version = object["apiVersion"].as_str().unwrap_or("");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap_or("");
    if !spec.selects(group, version, kind) {
        return Ok(());
    }
    let path = split_path(&spec.path);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    walk(object, &path, &mut String::new(), spec.create, create, set)
        .map_err(|e| format!("considering field '{}': {e}", spec.path))
}

/// kyaml's `PathSplitter`: `/` separates fields, `\/` is a slash inside a field name (as in
/// annotation keys), and a leading `/` is ignored.
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 1 && parts[0].is_empty() {
        parts.remove(0);
    }
    let mut out: Vec<String> = Vec::new();
    for part in parts {
        match out.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(part);
            }
            _ => out.push(part.to_string()),
        }
    }
    out
}

/// `at` is the JSON pointer of `node`; it is extended for each child and restored after.
fn walk(
    node: &mut Value,
    path: &[&str],
    at: &mut String,
    create_if_missing: bool,
    create: Create,
    set: &mut Setter<'_>,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return set(node, at);
    };
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            let len = at.len();
            for (i, item) in items.iter_mut().enumerate() {
                at.push('/');
                at.push_str(&i.to_string());
                let r = walk(item, path, at, create_if_missing, create, set);
                at.truncate(len);
                r?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (*first, false),
            };
            if name.is_empty() {
                return Err("cannot set or create an empty field name".into());
            }
            // What a null field found on the way is turned into.
            let convert: Option<Value> =
                if !create_if_missing || create == Create::Nothing || is_seq {
                    is_seq.then(|| Value::Array(Vec::new()))
                } else {
                    let made = if rest.is_empty() && create == Create::Scalar {
                        Value::String(String::new())
                    } else {
                        Value::Object(Map::new())
                    };
                    if !map.contains_key(name) {
                        map.insert(name.to_string(), made.clone());
                    }
                    Some(made)
                };
            let Some(field) = map.get_mut(name) else {
                return Ok(());
            };
            if field.is_null() {
                if let Some(made) = convert {
                    *field = made;
                }
            }
            let len = at.len();
            at.push('/');
            for c in name.chars() {
                match c {
                    '~' => at.push_str("~0"),
                    '/' => at.push_str("~1"),
                    c => at.push(c),
                }
            }
            let r = walk(field, rest, at, create_if_missing, create, set);
            at.truncate(len);
            r
        }
        _ => Err("expected sequence or mapping node".into()),
    }
}

/// The text of a scalar node, as kyaml's `YNode().Value` gives it.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        // A float held by kyaml prints as Go's `%g` (after a JSON patch every number is one).
        Value::Number(n) if n.is_f64() => Some(crate::goyaml::format_g(n.as_f64().unwrap_or(0.0))),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set_x(v: &mut Value, _: &str) -> Result<(), String> {
        *v = json!("x");
        Ok(())
    }

    #[test]
    fn creates_missing_mappings_only_when_asked() {
        let mut obj =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}});
        let spec = FieldSpec::new("", "", "Deployment", "spec/template/metadata/name", true);
        apply(&spec, &mut obj, Create::Scalar, &mut set_x).expect("applies");
        assert_eq!(obj["spec"]["template"]["metadata"]["name"], "x");
        let mut obj = json!({"kind": "Deployment"});
        let spec = FieldSpec::new("", "", "", "spec/template", false);
        apply(&spec, &mut obj, Create::Scalar, &mut set_x).expect("applies");
        assert!(obj.get("spec").is_none());
    }

    #[test]
    fn lists_are_walked_element_by_element() {
        let mut obj = json!({"kind": "X", "spec": {"containers": [{"image": "a"}, {"image": "b"}, {"name": "c"}]}});
        let spec = FieldSpec::new("", "", "", "spec/containers[]/image", true);
        apply(&spec, &mut obj, Create::Nothing, &mut set_x).expect("applies");
        assert_eq!(
            obj["spec"]["containers"],
            json!([{"image": "x"}, {"image": "x"}, {"name": "c"}])
        );
    }

    #[test]
    fn scalar_on_the_path_is_an_error() {
        let mut obj = json!({"kind": "X", "spec": "oops"});
        let spec = FieldSpec::new("", "", "", "spec/selector", true);
        let err = apply(&spec, &mut obj, Create::Mapping, &mut set_x).expect_err("scalar");
        assert!(err.contains("spec/selector"), "{err}");
    }
}
