//! The strategic-merge schema of built-in kinds: which lists merge by which keys. The data is
//! generated from Kubernetes v1.21.2 (the schema kustomize v5.7.1 embeds) into `mergekeys`;
//! kinds outside it (custom resources, removed API versions) have no schema, so their lists
//! are replaced whole, as kustomize replaces them.

use super::mergekeys::{RESOURCES, TYPES};

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
    let mut ty = resource_type(api_version, kind)?;
    let (last, walk) = path.split_last()?;
    let field = |ty: &'static TypeDef, name: &str| {
        ty.fields
            .iter()
            .find(|f| f.name == name)
            .or_else(|| ty.fields.iter().find(|f| f.name == "*"))
    };
    for name in walk {
        ty = TYPES.get(usize::from(field(ty, name)?.ty?))?;
    }
    field(ty, last)?.keys
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
