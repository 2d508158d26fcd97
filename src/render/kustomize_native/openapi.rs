//! The `openapi` field: which schema strategic merge patches take merge keys from. kustomize
//! keeps this in process-wide state (kyaml's `openapi` package) that the top kustomization
//! sets first and, when it leaves it unset, the first base or component naming one sets in
//! build order; the schema is read lazily, at the first patch, and what was read stays. So a
//! custom file *replaces* the built-in Kubernetes v1.21.2 schema (built-in kinds then have
//! no merge keys) unless the built-in one was already read, or asked for by a scope check on
//! a kind outside kyaml's precomputed table, before the file was named. The state is kept per
//! build here, in a thread-local reset by [`begin`], as each build runs on one thread.

use super::error::Error;
use super::kustomization::Kustomization;
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;

/// The one built-in version kustomize v5.7.1 carries.
const BUILTIN_VERSION: &str = "v1.21.2";

/// A schema file's definitions and the resource types they stand for.
#[derive(Debug, Default)]
pub struct Custom {
    definitions: Map<String, Value>,
    /// `apiVersion`/`kind` to definition name, from `x-kubernetes-group-version-kind`.
    by_type: HashMap<(String, String), String>,
    /// `apiVersion`/`kind` to whether it is namespaced, from the `get` operations of
    /// `paths`: namespaced when one of its paths has a namespace parameter.
    namespaced: HashMap<(String, String), bool>,
}

#[derive(Debug, Clone)]
enum Setting {
    Unset,
    Builtin,
    Custom(Rc<Custom>),
}

/// One schema read into kyaml's global definitions, in reading order: later ones win.
#[derive(Debug, Clone)]
enum Layer {
    Builtin,
    Custom(Rc<Custom>),
}

#[derive(Debug)]
struct State {
    setting: Setting,
    read: bool,
    layers: Vec<Layer>,
    builtin_read: bool,
    /// The built-in schema is owed: a scope check wanted it before anything was read.
    builtin_delayed: bool,
}

impl State {
    fn new() -> State {
        State {
            setting: Setting::Unset,
            read: false,
            layers: Vec::new(),
            builtin_read: false,
            builtin_delayed: false,
        }
    }

    /// kyaml's `initSchema`: reads the schema set, and the built-in one if owed.
    fn read(&mut self) {
        if self.read {
            return;
        }
        self.read = true;
        match &self.setting {
            Setting::Custom(c) => self.layers.push(Layer::Custom(c.clone())),
            Setting::Unset | Setting::Builtin => {
                self.layers.push(Layer::Builtin);
                self.builtin_read = true;
            }
        }
        if self.builtin_delayed && !self.builtin_read {
            self.layers.push(Layer::Builtin);
            self.builtin_read = true;
        }
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::new());
    /// Whether this build named a schema file with scopes in `paths`: scope checks, asked
    /// for every object many times, look no further without one.
    static SCOPES: Cell<bool> = const { Cell::new(false) };
}

/// Starts a build with no schema chosen.
pub fn begin() {
    STATE.with(|s| *s.borrow_mut() = State::new());
    SCOPES.with(|c| c.set(false));
}

/// kustomize's `SetSchema` for the kustomization `k` in `dir`: `top` resets what is set, a
/// nested kustomization sets only while nothing is. The file is read (and must exist) either
/// way, as kustomize loads it before asking.
pub fn set(k: &Kustomization, dir: &Path, top: bool) -> Result<(), Error> {
    let path = k.openapi.get("path");
    let custom = match path {
        Some(path) if super::loader::is_remote(path) => {
            return Err(Error::Refused {
                file: k.file.clone(),
                field: "openapi.path".into(),
                message: format!("'{path}' is remote and ferry builds offline; vendor the schema file next to the kustomization"),
            })
        }
        Some(path) => Some(super::loader::read_file(k, dir, "openapi.path", path)?),
        None => None,
    };
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if !top && !matches!(s.setting, Setting::Unset) {
            return Ok(());
        }
        let version = k.openapi.get("version");
        let field_error = |message: &str| Error::Field {
            file: k.file.clone(),
            field: "openapi".into(),
            message: message.into(),
        };
        if let Some(bytes) = custom {
            if version.is_some() {
                return Err(field_error(
                    "builtin version and custom schema provided, cannot use both",
                ));
            }
            let custom = parse(&bytes).map_err(|e| Error::Parse {
                file: dir.join(path.map(String::as_str).unwrap_or_default()),
                message: format!("invalid schema file: {e}"),
            })?;
            if !custom.namespaced.is_empty() {
                SCOPES.with(|c| c.set(true));
            }
            s.setting = Setting::Custom(Rc::new(custom));
            s.read = false;
            return Ok(());
        }
        match version.map(String::as_str) {
            None | Some("") => {
                s.setting = Setting::Unset;
                Ok(())
            }
            Some(BUILTIN_VERSION) => {
                s.setting = Setting::Builtin;
                s.read = false;
                Ok(())
            }
            Some(_) => Err(field_error(
                "the specified OpenAPI version is not built in (kustomize v5.7.1 has v1.21.2 only)",
            )),
        }
    })
}

/// A scope check on `api_version`/`kind` (kyaml's `IsNamespaceScoped`), made whenever
/// kustomize forms the id of an object: for a kind outside the precomputed table it reads
/// the schema, or, while the default is in use, makes the built-in one owed.
pub fn note_type(api_version: &str, kind: &str) {
    if super::scope::is_precomputed(api_version, kind) {
        return;
    }
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.read {
            return;
        }
        match s.setting {
            Setting::Custom(_) => s.read(),
            Setting::Unset | Setting::Builtin => {
                if !s.builtin_read {
                    s.builtin_delayed = true;
                }
            }
        }
    });
}

/// kyaml's `IsCertainlyClusterScoped` for a kind of `group`/`version` outside the table
/// of cluster-scoped kinds: a schema file read so far (the check reads one that is owed)
/// gives it paths without a namespace parameter, and no file gives it one with.
pub fn declares_cluster_scoped(group: &str, version: &str, kind: &str) -> bool {
    if !SCOPES.with(Cell::get) {
        return false;
    }
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    if super::scope::is_precomputed(&api_version, kind) {
        return false;
    }
    note_type(&api_version, kind);
    let key = (api_version, kind.to_string());
    STATE.with(|s| {
        let s = s.borrow();
        let mut cluster = false;
        for layer in &s.layers {
            if let Layer::Custom(c) = layer {
                match c.namespaced.get(&key) {
                    Some(true) => return false,
                    Some(false) => cluster = true,
                    None => {}
                }
            }
        }
        cluster
    })
}

/// Merge keys as [`list_keys`] finds them: the built-in schema's, or a schema file's.
pub enum Keys {
    Builtin(&'static [&'static str]),
    Custom(Vec<String>),
}

/// Merge keys of the list at `path` (field names, list positions left out) in an object of
/// `api_version`/`kind`, from the schema in effect; `None` when the list is replaced.
pub fn list_keys(api_version: &str, kind: &str, path: &[String]) -> Option<Keys> {
    STATE.with(|s| {
        s.borrow_mut().read();
        let s = s.borrow();
        // The last schema read that knows the type is the one kyaml's index holds for it.
        for layer in s.layers.iter().rev() {
            match layer {
                Layer::Builtin => {
                    if super::schema::knows(api_version, kind) {
                        return super::schema::list_keys(api_version, kind, path)
                            .map(Keys::Builtin);
                    }
                }
                Layer::Custom(c) => {
                    let def = c.by_type.get(&(api_version.to_string(), kind.to_string()));
                    if let Some(def) = def {
                        return c.list_keys(def, path, s.builtin_read);
                    }
                }
            }
        }
        None
    })
}

/// Whether the schema in effect has a definition for `api_version`/`kind` (kyaml's
/// `SchemaForResourceType` finding one).
pub fn knows_type(api_version: &str, kind: &str) -> bool {
    if api_version.is_empty() || kind.is_empty() {
        return false;
    }
    STATE.with(|s| {
        s.borrow_mut().read();
        let s = s.borrow();
        s.layers.iter().any(|layer| match layer {
            Layer::Builtin => super::schema::knows(api_version, kind),
            Layer::Custom(c) => c
                .by_type
                .contains_key(&(api_version.to_string(), kind.to_string())),
        })
    })
}

/// Reads a schema file as kyaml does: JSON when it starts with `{`, YAML otherwise (its
/// first document); only `definitions` and the scopes `paths` give matter here.
fn parse(bytes: &[u8]) -> Result<Custom, String> {
    let doc: Value = if bytes.first() == Some(&b'{') {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())?
    } else {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        crate::manifest::parse_rendered(text)
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
            .unwrap_or(Value::Null)
    };
    let definitions = match doc.get("definitions") {
        Some(Value::Object(d)) => d.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err("`definitions` must be a mapping".into()),
    };
    let mut namespaced: HashMap<(String, String), bool> = HashMap::new();
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            let Some(gvk) = item
                .get("get")
                .and_then(|g| g.get("x-kubernetes-group-version-kind"))
            else {
                continue;
            };
            let ty = type_of(gvk);
            if path.contains("namespaces/{namespace}") {
                namespaced.insert(ty, true);
            } else {
                namespaced.entry(ty).or_insert(false);
            }
        }
    }
    let mut by_type = HashMap::new();
    for (name, def) in &definitions {
        let Some(Value::Array(gvks)) = def.get("x-kubernetes-group-version-kind") else {
            continue;
        };
        for gvk in gvks {
            by_type.insert(type_of(gvk), name.clone());
        }
    }
    Ok(Custom {
        definitions,
        by_type,
        namespaced,
    })
}

/// The `apiVersion`/`kind` an `x-kubernetes-group-version-kind` entry names.
fn type_of(gvk: &Value) -> (String, String) {
    let text = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or("");
    let (group, version, kind) = (text("group"), text("version"), text("kind"));
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    (api_version, kind.to_string())
}

/// A schema on the way to a list: one of a file's, or a type of the built-in schema, which
/// a file's `$ref` names when the built-in schema was read too (kyaml keeps one index of
/// definitions and resolves references against it when they are followed).
#[derive(Clone, Copy)]
enum Node<'a> {
    File(&'a Value),
    Builtin(u16),
}

impl Custom {
    /// Follows `$ref`s (`#/definitions/NAME`) to the schema they name: the file's, else the
    /// built-in one of that name if `builtin` was read.
    fn resolve<'a>(&'a self, mut schema: &'a Value, builtin: bool) -> Option<Node<'a>> {
        let mut seen = 0;
        while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = unescape_pointer(r.strip_prefix("#/definitions/")?);
            schema = match self.definitions.get(&name) {
                Some(s) => s,
                None if builtin => return super::schema::type_named(&name).map(Node::Builtin),
                None => return None,
            };
            seen += 1;
            if seen > 64 {
                return None;
            }
        }
        Some(Node::File(schema))
    }

    /// kyaml's `ResourceSchema.Field`: a property, or the values of a map.
    fn field<'a>(&'a self, schema: &'a Value, name: &str, builtin: bool) -> Option<Node<'a>> {
        let s = schema
            .get("properties")
            .and_then(|p| p.get(name))
            .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))?;
        self.resolve(s, builtin)
    }

    /// kyaml's `Elements`: the items of a schema typed `array`.
    fn elements<'a>(&'a self, schema: &'a Value, builtin: bool) -> Option<Node<'a>> {
        if !is_array(schema) {
            return None;
        }
        self.resolve(schema.get("items").filter(|i| i.is_object())?, builtin)
    }

    /// Merge keys of the list at `path` in the type of definition `def`; `builtin` tells
    /// whether the built-in schema was read, for `$ref`s into it.
    fn list_keys(&self, def: &str, path: &[String], builtin: bool) -> Option<Keys> {
        let mut node = self.resolve(self.definitions.get(def)?, builtin)?;
        let (last, walk) = path.split_last()?;
        for name in walk {
            node = match node {
                Node::File(schema) => match self.field(schema, name, builtin)? {
                    // The path leaves list positions out: a list's elements are walked into.
                    Node::File(f) if is_array(f) => self.elements(f, builtin)?,
                    other => other,
                },
                Node::Builtin(ty) => Node::Builtin(super::schema::field_type(ty, name)?),
            };
        }
        match node {
            Node::File(schema) => match self.field(schema, last, builtin)? {
                Node::File(list) => merge_keys(list).map(Keys::Custom),
                Node::Builtin(_) => None,
            },
            Node::Builtin(ty) => super::schema::field_keys(ty, last).map(Keys::Builtin),
        }
    }
}

fn is_array(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(t)) => t.len() == 1 && t[0] == "array",
        _ => false,
    }
}

/// kyaml's `PatchStrategyAndKeyList`, for a list whose strategy includes `merge`.
fn merge_keys(schema: &Value) -> Option<Vec<String>> {
    let ext = extensions(schema);
    let strategy = ext.get("x-kubernetes-patch-strategy")?.as_str()?;
    if !strategy.split(',').any(|s| s == "merge") {
        return None;
    }
    if let Some(Value::Array(keys)) = ext.get("x-kubernetes-list-map-keys") {
        return Some(
            keys.iter()
                .map(|k| k.as_str().unwrap_or_default().to_string())
                .collect(),
        );
    }
    match ext
        .get("x-kubernetes-patch-merge-key")
        .and_then(|v| v.as_str())
    {
        Some(key) => Some(vec![key.to_string()]),
        None => Some(vec![String::new()]),
    }
}

/// go-openapi keeps extensions under lower-cased names.
fn extensions(schema: &Value) -> BTreeMap<String, &Value> {
    schema
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.len() > 2 && k[..2].eq_ignore_ascii_case("x-"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

fn unescape_pointer(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_keys_through_refs_lists_and_maps() {
        let c = parse(br##"{"definitions": {
            "Foo": {"x-kubernetes-group-version-kind": [{"group": "x.io", "version": "v1", "kind": "Foo"}],
                    "properties": {"spec": {"$ref": "#/definitions/Spec"}}},
            "Spec": {"properties": {
                "items": {"type": "array", "items": {"$ref": "#/definitions/Item"},
                          "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "tags": {"type": "array", "X-Kubernetes-Patch-Strategy": "retainKeys,merge"},
                "plain": {"type": "array", "x-kubernetes-patch-merge-key": "name"},
                "byKey": {"additionalProperties": {"$ref": "#/definitions/Item"}}}},
            "Item": {"properties": {"ports": {"type": "array",
                "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-map-keys": ["port", "protocol"]}}}
        }}"##)
        .expect("parses");
        let keys = |path: &str| {
            let path: Vec<String> = path.split('.').map(str::to_string).collect();
            match c.list_keys(&c.by_type[&("x.io/v1".into(), "Foo".into())], &path, false) {
                Some(Keys::Custom(k)) => Some(k),
                Some(Keys::Builtin(_)) => panic!("a built-in type without the built-in schema"),
                None => None,
            }
        };
        assert_eq!(keys("spec.items"), Some(vec!["name".to_string()]));
        assert_eq!(
            keys("spec.items.ports"),
            Some(vec!["port".to_string(), "protocol".to_string()])
        );
        assert_eq!(keys("spec.byKey.one.ports").map(|k| k.len()), Some(2));
        assert_eq!(keys("spec.tags"), Some(vec![String::new()]));
        assert_eq!(keys("spec.plain"), None);
        assert_eq!(keys("spec.missing"), None);
    }

    #[test]
    fn refs_into_built_in_definitions_once_it_was_read() {
        let c = parse(
            br##"{"definitions": {"Foo": {
            "x-kubernetes-group-version-kind": [{"group": "x.io", "version": "v1", "kind": "Foo"}],
            "properties": {"spec": {"$ref": "#/definitions/io.k8s.api.core.v1.PodSpec"}}}}}"##,
        )
        .expect("parses");
        let def = &c.by_type[&("x.io/v1".into(), "Foo".into())];
        let path: Vec<String> = ["spec", "containers", "ports"].map(String::from).to_vec();
        match c.list_keys(def, &path, true) {
            Some(Keys::Builtin(k)) => assert_eq!(k, ["containerPort", "protocol"]),
            _ => panic!("PodSpec's container ports merge by port and protocol"),
        }
        assert!(c.list_keys(def, &path, false).is_none());
    }

    #[test]
    fn yaml_schema_files_are_read() {
        let c = parse(b"definitions:\n  Foo:\n    x-kubernetes-group-version-kind:\n    - {group: '', version: v1, kind: Foo}\n")
            .expect("parses");
        assert!(c.by_type.contains_key(&("v1".into(), "Foo".into())));
        assert!(parse(b"definitions: [1]").is_err());
    }
}
