//! Functions callable from templates. A function declares its Go signature (parameter types,
//! a variadic tail) because the executor checks arguments the way Go's reflection does:
//! the arity error, `expected integer; found "x"`, `wrong type for value; expected string; got
//! float64` all depend on it. The embedding program (ferry's Helm layer) registers Sprig's and
//! Helm's functions here; methods of host objects use the same type.

use crate::value::{Elem, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A Go parameter type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// `interface {}`: any value; literals take their ideal type (int, float64, string, bool).
    Any,
    /// `reflect.Value`: like `Any`, for builtins that see missing values as they are.
    Reflect,
    Bool,
    Int,
    Int64,
    Float64,
    String,
    List(Elem),
    Map(Elem),
    /// A host object type by its Go name (e.g. `*semver.Version`).
    Object(&'static str),
}

impl Type {
    pub fn go_name(self) -> String {
        match self {
            Type::Any => "interface {}".into(),
            Type::Reflect => "reflect.Value".into(),
            Type::Bool => "bool".into(),
            Type::Int => "int".into(),
            Type::Int64 => "int64".into(),
            Type::Float64 => "float64".into(),
            Type::String => "string".into(),
            Type::List(e) => format!("[]{}", e.go_name()),
            Type::Map(e) => format!("map[string]{}", e.go_name()),
            Type::Object(name) => name.to_string(),
        }
    }

    /// Whether a nil of this type exists (Go's canBeNil).
    pub fn can_be_nil(self) -> bool {
        matches!(
            self,
            Type::Any | Type::Reflect | Type::List(_) | Type::Map(_) | Type::Object(_)
        )
    }

    /// Whether a (non-nil) value is assignable to a parameter of this type.
    pub fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (Type::Any | Type::Reflect, _) => true,
            (Type::Bool, Value::Bool(_)) => true,
            (Type::Int, Value::Int(_)) => true,
            (Type::Int64, Value::Int64(_)) => true,
            (Type::Float64, Value::Float(_)) => true,
            (Type::String, Value::String(_)) => true,
            (Type::List(e), Value::List(le, _)) => e == *le,
            (Type::Map(e), Value::Map(m)) => m.borrow().elem == e,
            (Type::Object(name), Value::Object(o)) => o.type_name() == name,
            _ => false,
        }
    }

    /// The zero value of the type (a nil map or slice reads as empty).
    pub fn zero(self) -> Value {
        match self {
            Type::Any | Type::Reflect | Type::Object(_) => Value::Nil,
            Type::Bool => Value::Bool(false),
            Type::Int => Value::Int(0),
            Type::Int64 => Value::Int64(0),
            Type::Float64 => Value::Float(0.0),
            Type::String => Value::str(""),
            Type::List(e) => Value::List(e, Default::default()),
            Type::Map(e) => Value::Map(std::rc::Rc::new(std::cell::RefCell::new(
                crate::value::Map {
                    elem: e,
                    entries: Default::default(),
                },
            ))),
        }
    }
}

/// Parameter types; `variadic` is the element type of a `...T` tail.
#[derive(Clone, Debug)]
pub struct Signature {
    pub params: Vec<Type>,
    pub variadic: Option<Type>,
}

impl Signature {
    pub fn fixed(params: &[Type]) -> Self {
        Signature {
            params: params.to_vec(),
            variadic: None,
        }
    }

    pub fn variadic(params: &[Type], tail: Type) -> Self {
        Signature {
            params: params.to_vec(),
            variadic: Some(tail),
        }
    }

    /// Go's NumIn: fixed parameters plus the variadic slice.
    pub fn num_in(&self) -> usize {
        self.params.len() + usize::from(self.variadic.is_some())
    }
}

/// What a function can do besides computing from its arguments: run another template of the
/// set (Helm's `include`), parse and run text (`tpl`), know how deep it is.
pub trait Context {
    /// Executes the named template of the running set with `data` as dot; its output.
    fn execute_template(&mut self, name: &str, data: Value) -> Result<String, crate::Error>;
    /// Parses `text` as template `name` into a copy of the running set and executes it.
    fn execute_text(&mut self, name: &str, text: &str, data: Value)
        -> Result<String, crate::Error>;
    /// How many templates and includes are executing around this call.
    fn depth(&self) -> usize;
}

pub type FuncResult = Result<Value, String>;
type Imp = dyn Fn(&mut dyn Context, Vec<Value>) -> FuncResult + Send + Sync;

/// A callable with its Go signature. An `Err(message)` becomes Go's
/// `error calling NAME: message`.
#[derive(Clone)]
pub struct Func {
    pub sig: Signature,
    pub imp: Arc<Imp>,
}

impl fmt::Debug for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Func({:?})", self.sig)
    }
}

impl Func {
    pub fn new(
        sig: Signature,
        imp: impl Fn(&mut dyn Context, Vec<Value>) -> FuncResult + Send + Sync + 'static,
    ) -> Self {
        Func {
            sig,
            imp: Arc::new(imp),
        }
    }

    /// A function that needs no context.
    pub fn pure(
        sig: Signature,
        imp: impl Fn(Vec<Value>) -> FuncResult + Send + Sync + 'static,
    ) -> Self {
        Func::new(sig, move |_, args| imp(args))
    }
}

/// Functions by name (Go's FuncMap), consulted before the builtins.
#[derive(Clone, Default, Debug)]
pub struct FuncMap {
    funcs: HashMap<String, Func>,
}

impl FuncMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: &str, f: Func) {
        self.funcs.insert(name.to_string(), f);
    }

    pub fn get(&self, name: &str) -> Option<&Func> {
        self.funcs.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.funcs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.funcs.is_empty()
    }

    /// The registered names, sorted (for coverage checks against the real function maps).
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.funcs.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    pub fn extend(&mut self, other: &FuncMap) {
        for (k, v) in &other.funcs {
            self.funcs.insert(k.clone(), v.clone());
        }
    }
}
