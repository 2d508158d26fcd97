//! The strategic-merge schema of built-in kinds: which lists merge by which keys. The data is
//! generated from Kubernetes v1.21.2 (the schema kustomize v5.7.1 embeds) into `mergekeys`;
//! kinds outside it (custom resources, removed API versions) have no schema, so their lists
//! are replaced whole, as kustomize replaces them.

use super::mergekeys::{NAMES, RESOURCES, TYPES};

pub struct TypeDef {
    /// Only the fields that lead to a merge-keyed list; `*` stands for map values.
    pub fields: &'static [Field],
}

pub struct Field {
    pub name: &'static str,
    /// The type of the value (of the elements, for a list), when it leads further.
    pub ty: Option<u16>,
    /// Merge keys when the field is a list merged by key; `[""]` for a list of scalars.
    pub keys: Option<&'static [&'static str]>,
}

pub struct Resource {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub ty: u16,
}

fn resource_type(api_version: &str, kind: &str) -> Option<&'static TypeDef> {
    let i = RESOURCES
        .binary_search_by(|r| (r.api_version, r.kind).cmp(&(api_version, kind)))
        .ok()?;
    TYPES.get(usize::from(RESOURCES[i].ty))
}

/// Whether the built-in schema has a definition for `api_version`/`kind` (every built-in
/// kind has `metadata`, whose lists make it part of the generated data).
pub fn knows(api_version: &str, kind: &str) -> bool {
    resource_type(api_version, kind).is_some()
}

/// Merge keys of the list at `path` (field names from the object's root, list positions left
/// out) in an object of `api_version`/`kind`, or `None` when the list is replaced.
pub fn list_keys(
    api_version: &str,
    kind: &str,
    path: &[String],
) -> Option<&'static [&'static str]> {
    let i = RESOURCES
        .binary_search_by(|r| (r.api_version, r.kind).cmp(&(api_version, kind)))
        .ok()?;
    let mut ty = RESOURCES[i].ty;
    let (last, walk) = path.split_last()?;
    for name in walk {
        ty = field_type(ty, name)?;
    }
    field_keys(ty, last)
}

/// The field `name` of type `ty` (the values' of a map when it has no such field).
fn field(ty: u16, name: &str) -> Option<&'static Field> {
    let ty = TYPES.get(usize::from(ty))?;
    ty.fields
        .iter()
        .find(|f| f.name == name)
        .or_else(|| ty.fields.iter().find(|f| f.name == "*"))
}

/// The type field `name` of type `ty` leads to (its elements' for a list), when it leads to
/// a merge-keyed list.
pub fn field_type(ty: u16, name: &str) -> Option<u16> {
    field(ty, name)?.ty
}

/// Merge keys of the list field `name` of type `ty`.
pub fn field_keys(ty: u16, name: &str) -> Option<&'static [&'static str]> {
    field(ty, name)?.keys
}

/// The type of the built-in definition `name` (`io.k8s.api.core.v1.PodSpec`), when it
/// leads to a merge-keyed list: a schema file's `$ref` may name it.
pub fn type_named(name: &str) -> Option<u16> {
    NAMES
        .binary_search(&name)
        .ok()
        .and_then(|i| u16::try_from(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(api: &str, kind: &str, path: &str) -> Option<Vec<&'static str>> {
        let path: Vec<String> = path.split('.').map(str::to_string).collect();
        list_keys(api, kind, &path).map(<[_]>::to_vec)
    }

    #[test]
    fn built_in_kinds_by_version() {
        assert_eq!(
            keys("apps/v1", "Deployment", "spec.template.spec.containers"),
            Some(vec!["name"])
        );
        assert_eq!(
            keys(
                "batch/v1beta1",
                "CronJob",
                "spec.jobTemplate.spec.template.spec.containers.ports"
            ),
            Some(vec!["containerPort", "protocol"])
        );
        assert_eq!(
            keys("v1", "Service", "spec.ports"),
            Some(vec!["port", "protocol"])
        );
        assert_eq!(
            keys("v1", "ConfigMap", "metadata.finalizers"),
            Some(vec![""])
        );
        assert_eq!(
            keys("apps/v1", "Deployment", "spec.template.spec.tolerations"),
            None
        );
        // Removed before 1.21, and custom resources: no schema, lists are replaced.
        assert_eq!(
            keys(
                "apps/v1beta2",
                "Deployment",
                "spec.template.spec.containers"
            ),
            None
        );
        assert_eq!(keys("x.io/v1", "Foo", "metadata.finalizers"), None);
    }
}
