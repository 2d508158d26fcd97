//! The `images:` section of `ferry.yaml`: which tags of an image repository an image policy
//! accepts and how it picks the latest, in the terms of Flux's ImagePolicy (`semver`,
//! `alphabetical`, `numerical`, `filterTags`). The checks that need the policy engine (ranges,
//! regexes) are in `crate::images::policy`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One image policy, keyed by its name (what a `$imagepolicy` marker names).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePolicySpec {
    /// The image repository, `HOST[:PORT]/PATH` (`nginx` means `docker.io/library/nginx`).
    pub image: String,
    /// How the latest tag is picked.
    pub policy: PolicyChoice,
    /// Only tags matching `pattern` are considered; `extract` rewrites them before ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<FilterTags>,
    /// Write `tag@sha256:...` (the digest the registry gives for the chosen tag).
    #[serde(default)]
    pub digest: bool,
    /// Write a tag the policy orders below the current one (off: never downgrade).
    #[serde(default)]
    pub allow_downgrade: bool,
    /// Per environment: fields that replace the ones above for markers of that environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, ImagePolicyOverride>,
}

/// Exactly one of the three orderings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyChoice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemverPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<OrderPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical: Option<OrderPolicy>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SemverPolicy {
    /// A range such as `>=1.2.0-0`, `~1.2` or `^2 || ^3`.
    pub range: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OrderPolicy {
    /// `asc` (default: the largest is the latest) or `desc` (the smallest is).
    #[serde(default)]
    pub order: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FilterTags {
    /// A regular expression (Go RE2 syntax; named groups as `(?P<name>...)`).
    pub pattern: String,
    /// What the policy orders instead of the tag: `$name`, `${name}` or `$1` expanded from the
    /// match, as Go's `Regexp.Expand` does. Empty: the tag itself.
    #[serde(default)]
    pub extract: Option<String>,
}

/// The fields an environment may change.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePolicyOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<FilterTags>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_downgrade: Option<bool>,
}
