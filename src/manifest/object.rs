//! One Kubernetes object and the key that identifies it in a cluster.

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// What makes an object unique in a cluster: group, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjRef {
    pub group: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjRef {
    /// `kind.group` for non-core groups, `kind` for the core group.
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

impl fmt::Display for ObjRef {
    /// `Kind/namespace/name` or `Kind/name`, the form every error message uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.group_kind();
        if self.namespace.is_empty() {
            write!(f, "{kind}/{}", self.name)
        } else {
            write!(f, "{kind}/{}/{}", self.namespace, self.name)
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ObjectError {
    #[error("document is not a mapping (found {found})")]
    NotAMapping { found: &'static str },
    #[error("field `{field}` is missing")]
    Missing { field: &'static str },
    #[error("field `{field}` must be a non-empty string")]
    NotAString { field: &'static str },
}

/// A validated object: a mapping with `apiVersion`, `kind` and `metadata.name` strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    value: Value,
}

fn str_field<'a>(map: &'a Map<String, Value>, key: &'static str) -> Result<&'a str, ObjectError> {
    match map.get(key) {
        None | Some(Value::Null) => Err(ObjectError::Missing { field: key }),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(ObjectError::NotAString { field: key }),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

impl Object {
    pub fn from_value(value: Value) -> Result<Self, ObjectError> {
        let map = value.as_object().ok_or(ObjectError::NotAMapping {
            found: type_name(&value),
        })?;
        str_field(map, "apiVersion")?;
        str_field(map, "kind")?;
        let meta = match map.get("metadata") {
            None | Some(Value::Null) => return Err(ObjectError::Missing { field: "metadata.name" }),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(ObjectError::NotAString { field: "metadata" }),
        };
        match meta.get("name") {
            None | Some(Value::Null) => return Err(ObjectError::Missing { field: "metadata.name" }),
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => return Err(ObjectError::NotAString { field: "metadata.name" }),
        }
        if let Some(ns) = meta.get("namespace") {
            if !matches!(ns, Value::String(_) | Value::Null) {
                return Err(ObjectError::NotAString { field: "metadata.namespace" });
            }
        }
        Ok(Object { value })
    }

    fn map(&self) -> &Map<String, Value> {
        self.value.as_object().expect("validated in from_value")
    }

    fn meta(&self) -> &Map<String, Value> {
        self.map()["metadata"].as_object().expect("validated in from_value")
    }

    pub fn api_version(&self) -> &str {
        self.map()["apiVersion"].as_str().unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.map()["kind"].as_str().unwrap_or_default()
    }

    /// The API group: the part of `apiVersion` before `/`, empty for the core group.
    pub fn group(&self) -> &str {
        match self.api_version().split_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    pub fn name(&self) -> &str {
        self.meta()["name"].as_str().unwrap_or_default()
    }

    /// The namespace, if set and non-empty.
    pub fn namespace(&self) -> Option<&str> {
        self.meta()
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn set_namespace(&mut self, namespace: &str) {
        if let Some(meta) = self
            .value
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        {
            meta.insert("namespace".into(), Value::String(namespace.to_string()));
        }
    }

    pub fn obj_ref(&self) -> ObjRef {
        ObjRef {
            group: self.group().to_string(),
            kind: self.kind().to_string(),
            namespace: self.namespace().unwrap_or_default().to_string(),
            name: self.name().to_string(),
        }
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    pub fn value_mut(&mut self) -> &mut Value {
        &mut self.value
    }

    pub fn into_value(self) -> Value {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_object_exposes_identity() {
        let o = Object::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}
        }))
        .expect("valid");
        assert_eq!(o.group(), "apps");
        assert_eq!(o.obj_ref().to_string(), "Deployment.apps/shop/web");
    }

    #[test]
    fn core_group_and_cluster_scope_display() {
        let o = Object::from_value(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}))
            .expect("valid");
        assert_eq!(o.group(), "");
        assert_eq!(o.obj_ref().to_string(), "Namespace/a");
    }

    #[test]
    fn missing_and_wrong_fields_are_named() {
        assert_eq!(
            Object::from_value(json!({"kind": "X", "metadata": {"name": "a"}})).unwrap_err(),
            ObjectError::Missing { field: "apiVersion" }
        );
        assert_eq!(
            Object::from_value(json!({"apiVersion": "v1", "kind": "X", "metadata": {}})).unwrap_err(),
            ObjectError::Missing { field: "metadata.name" }
        );
        assert_eq!(
            Object::from_value(json!({"apiVersion": "v1", "kind": 3, "metadata": {"name": "a"}})).unwrap_err(),
            ObjectError::NotAString { field: "kind" }
        );
        assert_eq!(
            Object::from_value(json!(["a"])).unwrap_err(),
            ObjectError::NotAMapping { found: "a list" }
        );
    }

    #[test]
    fn set_namespace_overrides() {
        let mut o = Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}))
            .expect("valid");
        assert_eq!(o.namespace(), None);
        o.set_namespace("n");
        assert_eq!(o.namespace(), Some("n"));
    }
}
