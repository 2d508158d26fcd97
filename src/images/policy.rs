//! Image policies compiled from `ferry.yaml`'s `images:`: which tags count, how they order, and
//! the choice of the latest, with Flux's ImagePolicy semantics:
//! - `semver`: tags that are strict semver (a leading `v` allowed) inside the range; the highest
//!   by semver precedence (build metadata does not order; a tie keeps the first tag in the
//!   registry's lexical order).
//! - `alphabetical`: byte order of the tags; `asc` (default) picks the last, `desc` the first.
//! - `numerical`: tags that read as decimal numbers; `asc` picks the largest, `desc` the
//!   smallest. A tag that does not read as a number is skipped and counted (Flux fails the whole
//!   policy instead; skipping keeps one stray tag from stopping every update).
//! - `filterTags`: only tags the pattern matches (anywhere, as Go's regexp finds); with
//!   `extract`, the expansion (`$name`, `${name}`, `$1`) is what is ordered, and the original
//!   tag is what is written.

use super::name::ImageName;
use super::semver::{Range, Version};
use crate::config::{ConfigError, FilterTags, ImagePolicySpec, Pipeline, PolicyChoice};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

/// How tags order.
#[derive(Debug, Clone)]
pub enum TagOrder {
    Semver { range: Range, text: String },
    Alphabetical { desc: bool },
    Numerical { desc: bool },
}

/// A compiled `filterTags`.
#[derive(Debug, Clone)]
pub struct Filter {
    pub regex: regex::Regex,
    pub extract: Option<String>,
}

impl Filter {
    /// The value to order for `tag`, or `None` when the pattern does not match.
    pub fn apply(&self, tag: &str) -> Option<String> {
        let caps = self.regex.captures(tag)?;
        match self.extract.as_deref().filter(|e| !e.is_empty()) {
            None => Some(tag.to_string()),
            Some(template) => {
                // regex's `expand` reads `$name` as the longest run of letters, digits and `_`,
                // like Go's Regexp.Expand; an unknown group expands to nothing in both.
                let mut out = String::new();
                caps.expand(template, &mut out);
                Some(out)
            }
        }
    }
}

/// One policy, for one environment or for every environment.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// The image as written in `ferry.yaml` (what a full marker gets in front of the tag).
    pub image: String,
    pub repo: ImageName,
    pub order: TagOrder,
    pub filter: Option<Filter>,
    pub digest: bool,
    pub allow_downgrade: bool,
}

/// Why tags were not candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The filter pattern did not match.
    pub filtered: usize,
    /// Not a version / not a number under the policy.
    pub unparseable: usize,
    /// A version outside the semver range.
    pub out_of_range: usize,
}

/// The latest tag under a policy, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The tag as the registry lists it (what gets written).
    pub tag: String,
    /// The ordered value (the extraction, or the tag).
    pub value: String,
    pub candidates: usize,
    pub skipped: Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no tag of {listed} satisfies the policy ({candidates} candidates; skipped: {} filtered out, {} unparseable, {} out of range)", skipped.filtered, skipped.unparseable, skipped.out_of_range)]
pub struct NoChoice {
    pub listed: usize,
    pub candidates: usize,
    pub skipped: Skipped,
}

/// What `compare` makes of the current tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versus {
    /// The chosen tag orders above the current one.
    Newer,
    Same,
    /// The chosen tag orders below: writing it would be a downgrade.
    Older,
    /// The current tag does not count under the policy (e.g. `latest`): it can be replaced.
    Incomparable,
}

/// A parsed key for ordering.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Version(Version),
    Text(String),
    Number(f64),
}

/// A number as Go's ParseFloat reads a plain decimal: sign, digits, point, exponent. Infinity
/// and NaN are not tags anyone means as a version.
fn parse_number(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && s.bytes().any(|b| b.is_ascii_digit());
    ok.then(|| s.parse::<f64>().ok())
        .flatten()
        .filter(|f| f.is_finite())
}

impl Policy {
    fn describe_order(&self) -> String {
        match &self.order {
            TagOrder::Semver { text, .. } => format!("semver {text}"),
            TagOrder::Alphabetical { desc } => {
                format!("alphabetical {}", if *desc { "desc" } else { "asc" })
            }
            TagOrder::Numerical { desc } => {
                format!("numerical {}", if *desc { "desc" } else { "asc" })
            }
        }
    }

    /// A one-line description: `semver >=1.0.0, filter ^main-, digest`.
    pub fn describe(&self) -> String {
        let mut s = self.describe_order();
        if let Some(f) = &self.filter {
            s.push_str(&format!(", filter {}", f.regex.as_str()));
            if let Some(e) = f.extract.as_deref().filter(|e| !e.is_empty()) {
                s.push_str(&format!(" -> {e}"));
            }
        }
        if self.digest {
            s.push_str(", digest");
        }
        s
    }

    /// The ordering key of `tag`; `Err(true)` when filtered out, `Err(false)` when unparseable,
    /// `Ok(None)` for a version outside the range.
    fn key(&self, tag: &str) -> Result<(String, Option<Key>), bool> {
        let (value, key) = self.order_key(tag)?;
        let in_range = match (&self.order, &key) {
            (TagOrder::Semver { range, .. }, Key::Version(v)) => range.matches(v),
            _ => true,
        };
        Ok((value, in_range.then_some(key)))
    }

    /// The ordering key of `tag`, whether or not a semver range admits it.
    fn order_key(&self, tag: &str) -> Result<(String, Key), bool> {
        let value = match &self.filter {
            Some(f) => f.apply(tag).ok_or(true)?,
            None => tag.to_string(),
        };
        let key = match &self.order {
            TagOrder::Semver { .. } => Key::Version(Version::parse_tag(&value).ok_or(false)?),
            TagOrder::Alphabetical { .. } => Key::Text(value.clone()),
            TagOrder::Numerical { .. } => Key::Number(parse_number(&value).ok_or(false)?),
        };
        Ok((value, key))
    }

    fn desc(&self) -> bool {
        matches!(
            self.order,
            TagOrder::Alphabetical { desc: true } | TagOrder::Numerical { desc: true }
        )
    }

    /// `a` against `b` in the policy's sense of "later".
    fn later(&self, a: &Key, b: &Key) -> Ordering {
        let o = a.partial_cmp(b).unwrap_or(Ordering::Equal);
        if self.desc() {
            o.reverse()
        } else {
            o
        }
    }

    /// Picks the latest of `tags`.
    ///
    /// # Errors
    /// No tag is a candidate.
    pub fn choose(&self, tags: &[String]) -> Result<Choice, NoChoice> {
        let mut sorted: Vec<&String> = tags.iter().collect();
        // Registries list tags in lexical order; sorting here makes ties independent of that.
        sorted.sort();
        let mut skipped = Skipped::default();
        let mut best: Option<(&String, String, Key)> = None;
        let mut candidates = 0;
        for tag in sorted {
            match self.key(tag) {
                Err(true) => skipped.filtered += 1,
                Err(false) => skipped.unparseable += 1,
                Ok((_, None)) => skipped.out_of_range += 1,
                Ok((value, Some(key))) => {
                    candidates += 1;
                    let replace = match &best {
                        None => true,
                        // Ties keep the earlier tag, as Flux's strict "greater than" does.
                        Some((_, _, b)) => self.later(&key, b) == Ordering::Greater,
                    };
                    if replace {
                        best = Some((tag, value, key));
                    }
                }
            }
        }
        match best {
            Some((tag, value, _)) => Ok(Choice {
                tag: tag.clone(),
                value,
                candidates,
                skipped,
            }),
            None => Err(NoChoice {
                listed: tags.len(),
                candidates,
                skipped,
            }),
        }
    }

    /// The chosen tag against the current one, in the policy's order. A current version outside
    /// the range still orders (`2.0.0` is above anything `~1.2` picks): leaving a range is no
    /// reason to go back down.
    pub fn compare(&self, chosen: &str, current: &str) -> Versus {
        if chosen == current {
            return Versus::Same;
        }
        let (Ok((_, a)), Ok((_, b))) = (self.order_key(chosen), self.order_key(current)) else {
            return Versus::Incomparable;
        };
        match self.later(&a, &b) {
            Ordering::Greater => Versus::Newer,
            Ordering::Equal => Versus::Same,
            Ordering::Less => Versus::Older,
        }
    }

    /// A sentence saying why `choice` won, for tables and reports.
    pub fn reason(&self, choice: &Choice) -> String {
        let mut s = format!(
            "{} under {} of {} candidates",
            if choice.value == choice.tag {
                choice.tag.clone()
            } else {
                format!("{} (extracted {})", choice.tag, choice.value)
            },
            self.describe_order(),
            choice.candidates
        );
        let k = &choice.skipped;
        if k.filtered + k.unparseable + k.out_of_range > 0 {
            s.push_str(&format!(
                "; skipped {} filtered out, {} unparseable, {} out of range",
                k.filtered, k.unparseable, k.out_of_range
            ));
        }
        s
    }
}

/// Every policy of a pipeline, with each environment's overrides applied.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    base: BTreeMap<String, Policy>,
    per_env: BTreeMap<(String, String), Policy>,
}

impl Policies {
    /// Compiles `pipeline.images`. `file` and `text` are `ferry.yaml`'s, for errors.
    ///
    /// # Errors
    /// No ordering or more than one, an invalid range, order or regex, a bad image name, an
    /// override for an unknown environment: each with the key and its line.
    pub fn compile(pipeline: &Pipeline, file: &Path, text: &str) -> Result<Policies, ConfigError> {
        let mut out = Policies::default();
        for (name, spec) in &pipeline.images {
            let key = format!("images.{name}");
            let base = compile_one(name, spec, None, file, text, &key)?;
            for (env, o) in &spec.overrides {
                let okey = format!("{key}.overrides.{env}");
                if !pipeline.environments.contains_key(env) {
                    let known: Vec<&str> =
                        pipeline.environments.keys().map(String::as_str).collect();
                    return Err(ConfigError::at(
                        file,
                        text,
                        &okey,
                        format!("unknown environment `{env}`"),
                        Some(format!("known environments: {}", known.join(", "))),
                    ));
                }
                let merged = ImagePolicySpec {
                    policy: o.policy.clone().unwrap_or_else(|| spec.policy.clone()),
                    filter_tags: o.filter_tags.clone().or_else(|| spec.filter_tags.clone()),
                    digest: o.digest.unwrap_or(spec.digest),
                    allow_downgrade: o.allow_downgrade.unwrap_or(spec.allow_downgrade),
                    ..spec.clone()
                };
                let p = compile_one(name, &merged, Some(o), file, text, &okey)?;
                out.per_env.insert((name.clone(), env.clone()), p);
            }
            out.base.insert(name.clone(), base);
        }
        Ok(out)
    }

    /// The policy `name` as environment `env` sees it (its override, else the base one).
    pub fn get(&self, name: &str, env: Option<&str>) -> Option<&Policy> {
        env.and_then(|e| self.per_env.get(&(name.to_string(), e.to_string())))
            .or_else(|| self.base.get(name))
    }

    /// Every (name, environment) pair with its policy; `None` is the base.
    pub fn all(&self) -> Vec<(Option<&str>, &Policy)> {
        let mut v: Vec<(Option<&str>, &Policy)> = self.base.values().map(|p| (None, p)).collect();
        v.extend(self.per_env.iter().map(|((_, e), p)| (Some(e.as_str()), p)));
        v.sort_by(|a, b| (&a.1.name, a.0).cmp(&(&b.1.name, b.0)));
        v
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.base.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
    }
}

fn compile_order(
    choice: &PolicyChoice,
    file: &Path,
    text: &str,
    key: &str,
) -> Result<TagOrder, ConfigError> {
    let order = |o: &Option<String>, k: &str| -> Result<bool, ConfigError> {
        match o.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => Ok(false),
            Some("desc") => Ok(true),
            Some(other) => Err(ConfigError::at(
                file,
                text,
                k,
                format!("unknown order `{other}`"),
                Some("write `asc` (the largest is the latest) or `desc`".to_string()),
            )),
        }
    };
    let set = [
        choice.semver.is_some(),
        choice.alphabetical.is_some(),
        choice.numerical.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set != 1 {
        return Err(ConfigError::at(
            file,
            text,
            key,
            if set == 0 {
                "no ordering is given".to_string()
            } else {
                "more than one ordering is given".to_string()
            },
            Some("give exactly one of `semver: {range: ...}`, `alphabetical: {order: asc}`, `numerical: {order: asc}`".to_string()),
        ));
    }
    if let Some(s) = &choice.semver {
        let range = Range::parse(&s.range).map_err(|e| {
            ConfigError::at(
                file,
                text,
                &format!("{key}.semver.range"),
                format!("invalid semver range `{}`: {e}", s.range),
                Some(
                    "examples: `>=1.2.0`, `~1.2`, `^2.0 || ^3.0`, `>=1.0.0-0` (pre-releases too)"
                        .to_string(),
                ),
            )
        })?;
        return Ok(TagOrder::Semver {
            range,
            text: s.range.clone(),
        });
    }
    if let Some(a) = &choice.alphabetical {
        return Ok(TagOrder::Alphabetical {
            desc: order(&a.order, &format!("{key}.alphabetical.order"))?,
        });
    }
    let n = choice
        .numerical
        .as_ref()
        .map(|n| n.order.clone())
        .unwrap_or_default();
    Ok(TagOrder::Numerical {
        desc: order(&n, &format!("{key}.numerical.order"))?,
    })
}

fn compile_filter(
    f: &FilterTags,
    file: &Path,
    text: &str,
    key: &str,
) -> Result<Filter, ConfigError> {
    let regex = regex::Regex::new(&f.pattern).map_err(|e| {
        ConfigError::at(
            file,
            text,
            &format!("{key}.pattern"),
            format!("invalid regular expression: {e}"),
            Some("Go RE2 syntax; a named group is `(?P<name>...)`".to_string()),
        )
    })?;
    if let Some(extract) = f.extract.as_deref() {
        // A `$name` for a group the pattern lacks would silently extract nothing from every tag.
        for group in referenced_groups(extract) {
            let known = group.parse::<usize>().map_or_else(
                |_| regex.capture_names().any(|n| n == Some(group.as_str())),
                |i| i < regex.captures_len(),
            );
            if !known {
                return Err(ConfigError::at(
                    file,
                    text,
                    &format!("{key}.extract"),
                    format!("`${group}` names no group of the pattern"),
                    Some(
                        "name a group in the pattern, e.g. `(?P<ts>[0-9]+)` and `$ts`".to_string(),
                    ),
                ));
            }
        }
    }
    Ok(Filter {
        regex,
        extract: f.extract.clone(),
    })
}

/// The group names an extraction template refers to (`$name`, `${name}`, `$1`).
fn referenced_groups(template: &str) -> Vec<String> {
    let b = template.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        if b.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        }
        if b.get(i + 1) == Some(&b'{') {
            if let Some(end) = template[i + 2..].find('}') {
                out.push(template[i + 2..i + 2 + end].to_string());
                i += end + 3;
                continue;
            }
        }
        let start = i + 1;
        let mut j = start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        if j > start {
            out.push(template[start..j].to_string());
        }
        i = j.max(i + 1);
    }
    out
}

fn compile_one(
    name: &str,
    spec: &ImagePolicySpec,
    over: Option<&crate::config::ImagePolicyOverride>,
    file: &Path,
    text: &str,
    key: &str,
) -> Result<Policy, ConfigError> {
    let base_key = key.split(".overrides.").next().unwrap_or(key).to_string();
    let repo = ImageName::parse(&spec.image).map_err(|e| {
        ConfigError::at(
            file,
            text,
            &format!("{base_key}.image"),
            e,
            Some("write HOST[:PORT]/PATH without a tag, e.g. ghcr.io/org/app".to_string()),
        )
    })?;
    // Errors point at the override's own key when the override set the field.
    let pkey = if over.is_some_and(|o| o.policy.is_some()) {
        format!("{key}.policy")
    } else {
        format!("{base_key}.policy")
    };
    let order = compile_order(&spec.policy, file, text, &pkey)?;
    let fkey = if over.is_some_and(|o| o.filter_tags.is_some()) {
        format!("{key}.filterTags")
    } else {
        format!("{base_key}.filterTags")
    };
    let filter = spec
        .filter_tags
        .as_ref()
        .map(|f| compile_filter(f, file, text, &fkey))
        .transpose()?;
    Ok(Policy {
        name: name.to_string(),
        image: spec.image.clone(),
        repo,
        order,
        filter,
        digest: spec.digest,
        allow_downgrade: spec.allow_downgrade,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extraction_templates_name_their_groups() {
        assert_eq!(referenced_groups("$ts"), ["ts"]);
        assert_eq!(referenced_groups("${ts}-$1x $$ $"), ["ts", "1x"]);
    }

    #[test]
    fn numbers_as_go_reads_plain_decimals() {
        assert_eq!(parse_number("20240101"), Some(20240101.0));
        assert_eq!(parse_number("1.5e3"), Some(1500.0));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("v1"), None);
        assert_eq!(parse_number("1.2.3"), None);
    }
}
