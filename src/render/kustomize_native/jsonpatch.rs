//! RFC 6902 JSON patches (what kustomize applies with evanphx/json-patch): add, remove,
//! replace, move, copy and test on a JSON value.

use serde_json::Value;

/// Applies `ops` (a JSON array of operations) to `doc`.
pub fn apply(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let Value::Array(ops) = ops else {
        return Err("a JSON patch must be a list of operations".into());
    };
    for (i, op) in ops.iter().enumerate() {
        apply_one(doc, op).map_err(|e| format!("operation {i}: {e}"))?;
    }
    Ok(())
}

fn field<'a>(op: &'a Value, name: &str) -> Result<&'a str, String> {
    op.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing `{name}`"))
}

fn apply_one(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = field(op, "op")?;
    let path = field(op, "path")?;
    let value = || {
        op.get("value")
            .cloned()
            .ok_or_else(|| "missing `value`".to_string())
    };
    match kind {
        "add" => add(doc, path, value()?),
        "remove" => remove(doc, path).map(drop),
        "replace" => replace(doc, path, value()?),
        "move" => {
            let from = field(op, "from")?;
            let v = remove(doc, from)?;
            add(doc, path, v)
        }
        "copy" => {
            let from = field(op, "from")?;
            let v = doc
                .pointer(from)
                .cloned()
                .ok_or_else(|| format!("copy: '{from}' does not exist"))?;
            add(doc, path, v)
        }
        "test" => {
            let v = value()?;
            match doc.pointer(path) {
                Some(found) if *found == v => Ok(()),
                _ => Err(format!("test: '{path}' does not hold the expected value")),
            }
        }
        other => Err(format!("unknown operation '{other}'")),
    }
}

fn split(path: &str) -> Result<(String, String), String> {
    let i = path
        .rfind('/')
        .ok_or_else(|| format!("invalid path '{path}'"))?;
    let last = path[i + 1..].replace("~1", "/").replace("~0", "~");
    Ok((path[..i].to_string(), last))
}

/// An array index as evanphx/json-patch v4 reads it: negative counts from the end.
fn index(last: &str, len: usize, path: &str) -> Result<usize, String> {
    let i: i64 = last
        .parse()
        .map_err(|_| format!("invalid index '{last}' in '{path}'"))?;
    let len = len as i64;
    let i = if i < 0 { i + len } else { i };
    if i < 0 || i >= len {
        return Err(format!("index {last} is out of range in '{path}'"));
    }
    Ok(i as usize)
}

/// Replace: the parent must exist; in a mapping a missing key is simply set (evanphx v4).
fn replace(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let i = index(&last, items.len(), path).map_err(|e| format!("replace: {e}"))?;
            items[i] = value;
            Ok(())
        }
        _ => Err(format!("replace: the parent of '{path}' does not exist")),
    }
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            if last == "-" {
                items.push(value);
                return Ok(());
            }
            // Inserting may also go one past the end.
            let i = index(&last, items.len() + 1, path).map_err(|e| format!("add: {e}"))?;
            items.insert(i, value);
            Ok(())
        }
        _ => Err(format!("add: the parent of '{path}' does not exist")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(map)) => map
            .remove(&last)
            .ok_or_else(|| format!("remove: '{path}' does not exist")),
        Some(Value::Array(items)) => {
            let i = index(&last, items.len(), path).map_err(|e| format!("remove: {e}"))?;
            Ok(items.remove(i))
        }
        _ => Err(format!("remove: '{path}' does not exist")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations() {
        let mut doc = json!({"spec": {"rules": [{"host": "a"}], "x": 1}});
        let ops = json!([
            {"op": "replace", "path": "/spec/rules/0/host", "value": "b"},
            {"op": "add", "path": "/spec/rules/-", "value": {"host": "c"}},
            {"op": "add", "path": "/spec/rules/0", "value": {"host": "z"}},
            {"op": "copy", "from": "/spec/x", "path": "/spec/y"},
            {"op": "move", "from": "/spec/x", "path": "/spec/w~1v"},
            {"op": "remove", "path": "/spec/y"},
            {"op": "test", "path": "/spec/w~1v", "value": 1}
        ]);
        apply(&mut doc, &ops).expect("applies");
        assert_eq!(
            doc,
            json!({"spec": {"rules": [{"host": "z"}, {"host": "b"}, {"host": "c"}], "w/v": 1}})
        );
        apply(
            &mut doc,
            &json!([{"op": "replace", "path": "/spec/new", "value": 1}]),
        )
        .expect("a missing key is set");
        assert_eq!(doc["spec"]["new"], 1);
        apply(
            &mut doc,
            &json!([{"op": "remove", "path": "/spec/rules/-1"}]),
        )
        .expect("negative index");
        assert_eq!(doc["spec"]["rules"].as_array().map(Vec::len), Some(2));
        assert!(apply(
            &mut doc,
            &json!([{"op": "replace", "path": "/no/such", "value": 1}])
        )
        .is_err());
        assert!(apply(
            &mut doc,
            &json!([{"op": "remove", "path": "/spec/rules/9"}])
        )
        .is_err());
    }
}
