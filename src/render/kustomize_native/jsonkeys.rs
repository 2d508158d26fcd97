//! Go's `encoding/json` matching of object keys to struct fields, which kubectl applies to a
//! kustomization (read through sigs.k8s.io/yaml): a key equal to a field's name is that field,
//! otherwise a key equal to it under Unicode simple case folding is (`nameprefix:` sets
//! `namePrefix`). sigs.k8s.io/yaml hands the decoder a Go map re-encoded as JSON, so keys
//! arrive sorted by bytes whatever their order in the file, and a later key for the same field
//! wins; for a mapping-valued field the decoder adds to the mapping already there.

use serde_json::{Map, Value};

/// Whether `key` folds to the ASCII field name `name` as Go's `bytes.EqualFold` decides.
/// Only two non-ASCII characters fold into ASCII letters: KELVIN SIGN (k) and LONG S (s).
fn folds_to(key: &str, name: &str) -> bool {
    let mut chars = key.chars();
    for want in name.bytes() {
        let Some(c) = chars.next() else {
            return false;
        };
        let c = match c {
            '\u{212A}' => 'k',
            '\u{017F}' => 's',
            c => c.to_ascii_lowercase(),
        };
        if c != char::from(want.to_ascii_lowercase()) {
            return false;
        }
    }
    chars.next().is_none()
}

/// The field `key` sets among `names` (exact match first, then folded), if any.
fn field_of<'a>(key: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .find(|n| **n == key)
        .or_else(|| names.iter().find(|n| folds_to(key, n)))
        .copied()
}

/// `map` with every key that names one of `names` renamed to that name, merged as Go's
/// decoder does. Keys naming no field are kept as they are, for the caller to refuse.
pub fn canonical(map: &Map<String, Value>, names: &[&str]) -> Map<String, Value> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let mut out = Map::new();
    for key in keys {
        let value = map[key.as_str()].clone();
        let name = field_of(key, names).unwrap_or(key);
        match (out.get_mut(name), value) {
            (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
            (_, value) => {
                out.insert(name.to_string(), value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exact_then_folded_and_sorted_keys_decide() {
        let names = ["namePrefix", "resources", "commonLabels"];
        let Value::Object(m) = json!({
            "nameprefix": "a-", "namePrefix": "b-", "re\u{17f}ources": ["r.yaml"],
            "commonlabels": {"x": "1"}, "commonLabels": {"z": "2"}, "bogus": 1,
        }) else {
            unreachable!()
        };
        let c = canonical(&m, &names);
        // "namePrefix" sorts before "nameprefix", so the folded one is decoded last and wins.
        assert_eq!(c["namePrefix"], json!("a-"));
        assert_eq!(c["resources"], json!(["r.yaml"]));
        assert_eq!(c["commonLabels"], json!({"x": "1", "z": "2"}));
        assert_eq!(c["bogus"], json!(1));
        assert!(!folds_to("nameKefix", "namePrefix"));
        assert!(folds_to("\u{212A}ind", "kind"));
    }
}
