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
            Value::Float(f) => *f != 0.0,
            Value::Complex(r, i) => *r != 0.0 || *i != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(_, l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().entries.is_empty(),
            Value::Object(_) => true,
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
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}
