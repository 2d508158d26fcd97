//! Dynamic values with Go's types: what Helm's data holds after YAML went through JSON
//! (float64, string, bool, nil, `[]interface {}`, `map[string]interface {}`), Go's `int` and
//! `int64` from literals and functions, typed slices and maps that Sprig returns, and host
//! objects with methods.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// The element type of a slice or map value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// `interface {}`
    Any,
    String,
    Int,
    Int64,
    Float64,
    Bool,
}

impl Elem {
    pub fn go_name(self) -> &'static str {
        match self {
            Elem::Any => "interface {}",
            Elem::String => "string",
            Elem::Int => "int",
            Elem::Int64 => "int64",
            Elem::Float64 => "float64",
            Elem::Bool => "bool",
        }
    }

    /// The zero value of the element type (a missing map key under `missingkey=zero`).
    pub fn zero(self) -> Value {
        match self {
            Elem::Any => Value::Nil,
            Elem::String => Value::String(Rc::from("")),
            Elem::Int => Value::Int(0),
            Elem::Int64 => Value::Int64(0),
            Elem::Float64 => Value::Float(0.0),
            Elem::Bool => Value::Bool(false),
        }
    }
}

pub type MapRef = Rc<RefCell<Map>>;

/// A Go map with string keys. Go maps are references: `set` on a map changes it for every
/// holder, which charts rely on, hence the shared cell.
#[derive(Debug, Clone)]
pub struct Map {
    pub elem: Elem,
    pub entries: BTreeMap<String, Value>,
}

/// A host object: a Go struct or pointer with fields and methods (`.Files.Get`,
/// `.Capabilities.APIVersions.Has`), implemented by the embedding program.
pub trait Object: fmt::Debug {
    /// Go's type name, as `%T` prints it (e.g. `*chart.Files`).
    fn type_name(&self) -> &str;
    /// An exported field's value, or None when there is no such field.
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    /// A method by name, or None when there is none.
    fn method(&self, _name: &str) -> Option<crate::func::Func> {
        None
    }
    /// How `{{ . }}` prints the object (Go's `%v` of the struct, or its String method).
    fn display(&self) -> String {
        format!("{{{}}}", self.type_name())
    }
    /// The key/value pairs `range` visits when the object is a Go map type with methods
    /// (Helm's `.Files`), in key order; `None` when it cannot be ranged over.
    fn range_entries(&self) -> Option<Vec<(String, Value)>> {
        None
    }
    /// The object as `Any`, for functions that take this type back (e.g. a version compared
    /// with another).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// What Go's `encoding/json` writes for it, as a plain value (a struct's exported fields
    /// as a map, a `MarshalJSON` result); `None` writes `{}`.
    fn json_value(&self) -> Option<Value> {
        None
    }
}

#[derive(Clone, Debug)]
pub enum Value {
    /// No value at all (Go's invalid reflect.Value): prints `<no value>`.
    Invalid,
    /// A nil `interface {}` (JSON null, a missing key under `missingkey=zero`): `<nil>`.
    Nil,
    Bool(bool),
    /// Go's `int`.
    Int(i64),
    Int64(i64),
    /// A byte (indexing a string gives one).
    Uint8(u8),
    Float(f64),
    Complex(f64, f64),
    String(Rc<str>),
    List(Elem, Rc<Vec<Value>>),
    Map(MapRef),
    Object(Rc<dyn Object>),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::String(Rc::from(s))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Elem::Any, Rc::new(items))
    }

    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(Map {
            elem: Elem::Any,
            entries,
        })))
    }

    /// Go's `%T` name of the value.
    pub fn type_name(&self) -> String {
        match self {
            Value::Invalid | Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Uint8(_) => "uint8".into(),
            Value::Float(_) => "float64".into(),
            Value::Complex(..) => "complex128".into(),
            Value::String(_) => "string".into(),
            Value::List(e, _) => format!("[]{}", e.go_name()),
            Value::Map(m) => format!("map[string]{}", m.borrow().elem.go_name()),
            Value::Object(o) => o.type_name().to_string(),
        }
    }

    /// Go's reflect Kind name (Sprig's `kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Invalid | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint8(_) => "uint8",
            Value::Float(_) => "float64",
            Value::Complex(..) => "complex128",
            Value::String(_) => "string",
            Value::List(..) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => {
                if o.type_name().starts_with('*') {
                    "ptr"
                } else {
                    "struct"
                }
            }
        }
    }

    /// Go's template truth (`if`, `and`, `not`); None for values Go cannot judge.
    pub fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint8(b) => *b != 0,
            Value::Float(f) => *f != 0.0,
            Value::Complex(r, i) => *r != 0.0 || *i != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(_, l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().entries.is_empty(),
            Value::Object(_) => true,
        }
    }

    /// The value of any Go integer type.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            Value::Uint8(b) => Some(*b as i64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value from JSON as Go's encoding/json decodes into `interface {}`: numbers become
    /// float64 (Helm's values), objects `map[string]interface {}`, arrays `[]interface {}`.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(a) => {
                // Go's decoder appends one element at a time, so the slice has the spare
                // capacity of append's growth, which `slice` may reach into.
                let mut items = Vec::with_capacity(json_cap(a.len()));
                items.extend(a.iter().map(Value::from_json));
                Value::List(Elem::Any, Rc::new(items))
            }
            serde_json::Value::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// Go's malloc size classes (bytes), for the capacity append leaves.
const SIZE_CLASSES: [usize; 68] = [
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
    352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
    2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
    10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672,
    32768,
];

/// Bytes Go's allocator really gives for `size` bytes of pointerful memory.
fn round_up_size(size: usize) -> usize {
    const HEADER: usize = 8;
    if size <= 32768 - HEADER {
        let req = if size > 512 { size + HEADER } else { size };
        let class = SIZE_CLASSES
            .iter()
            .copied()
            .find(|&c| c >= req)
            .unwrap_or(32768);
        return class - (req - size);
    }
    size.div_ceil(8192) * 8192
}

/// The capacity of a `[]interface {}` of `n` elements built by appending one at a time (how
/// Go's encoding/json decodes an array).
pub fn json_cap(n: usize) -> usize {
    let mut cap = 0usize;
    while cap < n {
        let new_len = cap + 1;
        let mut newcap = cap;
        let double = cap * 2;
        if new_len > double {
            newcap = new_len;
        } else if cap < 256 {
            newcap = double;
        } else {
            while newcap < new_len {
                newcap += (newcap + 3 * 256) >> 2;
            }
        }
        cap = round_up_size(newcap * 16) / 16;
    }
    cap
}
