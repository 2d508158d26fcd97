//! Which owners' objects a diff keeps (`ferry diff --tenant NAME`): tenants by name, and the
//! platform (every app no tenant lists) as `platform`, a name `ferry.yaml` reserves for it.
//! Ownership comes from `index.json` (each app's `tenant`), never from namespaces.

use std::collections::BTreeSet;

/// The owner name of the platform's objects, in filters and in grouped output.
pub const PLATFORM: &str = "platform";

/// The owner an object's tenant stands for: the tenant's name, or [`PLATFORM`].
pub fn owner(tenant: Option<&str>) -> &str {
    tenant.unwrap_or(PLATFORM)
}

/// A set of owners; a diff with one compares only their objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantFilter {
    names: BTreeSet<String>,
}

/// A `--tenant` that no compared build describes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tenant `{name}`: no compared build has it\nhint: {}", known_hint(.known))]
pub struct UnknownTenant {
    pub name: String,
    pub known: Vec<String>,
}

fn known_hint(known: &[String]) -> String {
    if known.is_empty() {
        format!("the compared builds have no tenants; `--tenant {PLATFORM}` selects every object")
    } else {
        format!(
            "tenants: {} (and `{PLATFORM}` for the platform's apps)",
            known.join(", ")
        )
    }
}

impl TenantFilter {
    pub fn new(names: impl IntoIterator<Item = String>) -> TenantFilter {
        TenantFilter {
            names: names.into_iter().collect(),
        }
    }

    /// Whether an object of `tenant` (`None`: the platform's) is kept.
    pub fn keeps(&self, tenant: Option<&str>) -> bool {
        self.names.contains(owner(tenant))
    }

    /// Every name must be [`PLATFORM`] or one of `known` (the tenants of every build compared,
    /// all environments together: a tenant may have apps in some environments only).
    ///
    /// # Errors
    /// The first name that is neither, with the known ones.
    pub fn check_known(&self, known: &BTreeSet<String>) -> Result<(), UnknownTenant> {
        match self
            .names
            .iter()
            .find(|n| n.as_str() != PLATFORM && !known.contains(*n))
        {
            None => Ok(()),
            Some(name) => Err(UnknownTenant {
                name: name.clone(),
                known: known.iter().cloned().collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_named_tenants_and_the_platform_by_its_name() {
        let f = TenantFilter::new(["shop".to_string(), PLATFORM.to_string()]);
        assert!(f.keeps(Some("shop")));
        assert!(f.keeps(None));
        assert!(!f.keeps(Some("blog")));
        let only = TenantFilter::new(["shop".to_string()]);
        assert!(!only.keeps(None));
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let known: BTreeSet<String> = ["blog".to_string(), "shop".to_string()].into();
        let f = TenantFilter::new(["shop".to_string(), "shoq".to_string()]);
        assert_eq!(
            f.check_known(&known).unwrap_err().to_string(),
            "unknown tenant `shoq`: no compared build has it\nhint: tenants: blog, shop (and `platform` for the platform's apps)"
        );
        assert!(TenantFilter::new([PLATFORM.to_string()])
            .check_known(&BTreeSet::new())
            .is_ok());
        assert!(TenantFilter::new(["x".to_string()])
            .check_known(&BTreeSet::new())
            .unwrap_err()
            .to_string()
            .contains("the compared builds have no tenants"));
    }
}
