//! Values to template values with the Go types helm's values have: every number read from
//! YAML or JSON is a float64 (helm reads them through `encoding/json`), and an integer typed by
//! `--set` is an int64 (`strvals`). ferry's values maps keep that apart in the number itself:
//! readers store floats ([`as_float64`]), and only `--set` stores integers, so an integer
//! number in a values map is an int64 to the templates.

use gotmpl::Value;
use serde_json::Value as J;

pub(super) use crate::render::helm_strvals::as_float64;

/// Whether `v` holds an int64 anywhere.
fn has_int(v: &J) -> bool {
    match v {
        J::Number(n) => !n.is_f64(),
        J::Array(a) => a.iter().any(has_int),
        J::Object(m) => m.values().any(has_int),
        _ => false,
    }
}

/// The template value of a values tree: Go's float64 and int64 as described above.
pub fn to_template(v: &J) -> Value {
    match v {
        J::Number(n) if !n.is_f64() => match n.as_i64() {
            Some(i) => Value::Int64(i),
            // Above int64: strvals keeps such a number as a string, so none reaches here.
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        J::Object(m) => Value::map(m.iter().map(|(k, v)| (k.clone(), to_template(v))).collect()),
        J::Array(a) if a.iter().any(has_int) => {
            // `from_json` gives the list the spare capacity Go's decoder leaves, which `slice`
            // can reach; only the items change.
            let mut list = Value::from_json(v);
            if let Value::List(_, items) = &mut list {
                if let Some(items) = std::rc::Rc::get_mut(items) {
                    for (slot, item) in items.iter_mut().zip(a) {
                        *slot = to_template(item);
                    }
                }
            }
            list
        }
        _ => Value::from_json(v),
    }
}

/// Go's `%T` of a values tree's value.
pub fn go_type(v: &J) -> &'static str {
    match v {
        J::Null => "<nil>",
        J::Bool(_) => "bool",
        J::Number(n) if !n.is_f64() => "int64",
        J::Number(_) => "float64",
        J::String(_) => "string",
        J::Array(_) => "[]interface {}",
        J::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_are_int64_and_read_numbers_float64() {
        let v = as_float64(json!({"a": 3, "b": [1, {"c": 2}]}));
        assert!(matches!(to_template(&v["a"]), Value::Float(f) if f == 3.0));
        let mut set = v.clone();
        set["a"] = json!(1000000);
        set["b"][1]["c"] = json!(7);
        assert!(matches!(to_template(&set["a"]), Value::Int64(1000000)));
        let Value::List(_, items) = to_template(&set["b"]) else {
            panic!("a list")
        };
        assert!(matches!(items[0], Value::Float(f) if f == 1.0));
        let Value::Map(m) = &items[1] else {
            panic!("a map")
        };
        assert!(matches!(m.borrow().entries["c"], Value::Int64(7)));
        assert_eq!(go_type(&set["a"]), "int64");
        assert_eq!(go_type(&v["a"]), "float64");
    }
}
