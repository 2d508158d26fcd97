//! Go's `text/template` (Go 1.25 semantics) in Rust: the lexer and parser of
//! `text/template/parse`, the executor of `text/template` with Go's value semantics, Go's
//! builtin functions and Go's `fmt` printing of values. Byte-identical output and error texts
//! are the goal; Go's own text/template is the reference (`tests/differential.rs`).
//!
//! The engine knows nothing of Helm. An embedding program adds functions through [`FuncMap`]
//! (each with its Go signature, so argument errors read as Go's), host objects with methods
//! through [`Object`], and runs templates that call back into the set through
//! [`func::Context`] (Helm's `include` and `tpl`).
//!
//! ```
//! use gotmpl::{Templates, Value};
//! let mut t = Templates::new();
//! t.parse("t", "{{ range $k, $v := . }}{{ $k }}={{ $v }} {{ end }}").unwrap();
//! let data = Value::from_json(&serde_json::json!({"b": 1e6, "a": [1, "x"]}));
//! assert_eq!(t.execute("t", data).unwrap(), "a=[1 x] b=1e+06 ");
//! ```

mod ast;
pub mod builtins;
mod exec;
pub mod func;
pub mod gofmt;
mod lex;
pub mod limits;
mod number;
mod parse;
mod parse_cache;
pub mod quote;
pub mod sprig;
pub mod value;

pub use func::{Context, Func, FuncMap, Signature, Type};
pub use limits::Limits;
pub use value::{Elem, Map, Object, Value};

use std::collections::HashMap;
use std::sync::Arc;

/// A parse or execution error, worded as Go words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Exec(String),
}

/// What a lookup of a missing map key gives (Go's `missingkey` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default`: no value (prints `<no value>`).
    #[default]
    Invalid,
    /// `missingkey=zero`: the element type's zero value (Helm's setting).
    Zero,
    /// `missingkey=error`: an execution error.
    Error,
}

/// A set of named templates sharing functions and options (Go's `*template.Template` with
/// its associated templates). Cheap to clone: trees and functions are shared.
#[derive(Clone, Debug)]
pub struct Templates {
    trees: HashMap<String, Arc<ast::Tree>>,
    funcs: Arc<FuncMap>,
    builtins: Arc<FuncMap>,
    /// Which function names the set knows, for reusing parsed trees (see `parse_cache`).
    funcs_id: u64,
    pub missing_key: MissingKey,
    /// Bounds on output size and work; see [`Limits`].
    pub limits: Limits,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    pub fn new() -> Self {
        Self::with_funcs(FuncMap::new())
    }

    /// A set whose templates may call `funcs` besides Go's builtins (which they override).
    pub fn with_funcs(funcs: FuncMap) -> Self {
        let builtins = builtins::builtins();
        let funcs_id =
            parse_cache::funcs_fingerprint(funcs.names().into_iter().chain(builtins.names()));
        Templates {
            trees: HashMap::new(),
            funcs: Arc::new(funcs),
            builtins: Arc::new(builtins),
            funcs_id,
            missing_key: MissingKey::Invalid,
            limits: Limits::default(),
        }
    }

    pub fn has_function(&self, name: &str) -> bool {
        self.funcs.contains(name) || self.builtins.contains(name)
    }

    /// Parses `text` as template `name` (Go's `t.New(name).Parse(text)`): its `define`s and
    /// `block`s join the set; a later definition replaces an earlier one unless it is empty.
    ///
    /// The same name and text parsed before in this process (by any set knowing the same
    /// function names) reuse that parse's trees.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let trees = match parse_cache::get(self.funcs_id, name, text) {
            Some(trees) => trees,
            None => {
                let has = |f: &str| self.has_function(f);
                let trees: parse_cache::Parsed = parse::parse(name, text, &has)
                    .map_err(Error::Parse)?
                    .into_iter()
                    .map(Arc::new)
                    .collect();
                parse_cache::put(self.funcs_id, name, text, Arc::clone(&trees));
                trees
            }
        };
        for t in trees.iter() {
            let keep_old = ast::is_empty_list(&t.root) && self.trees.contains_key(&t.name);
            if !keep_old {
                self.trees.insert(t.name.clone(), Arc::clone(t));
            }
        }
        Ok(())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&ast::Tree> {
        self.trees.get(name).map(|t| t.as_ref())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Names of the templates in the set, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        v.sort();
        v
    }

    /// Executes template `name` with `data` as dot and `$`.
    pub fn execute(&self, name: &str, data: Value) -> Result<String, Error> {
        let Some(tree) = self.get(name) else {
            return Err(Error::Exec(format!(
                "template: no template {} associated with template {}",
                quote::quote(name),
                quote::quote(name)
            )));
        };
        exec::execute(self, tree, data, 0, &exec::Steps::default())
    }
}
