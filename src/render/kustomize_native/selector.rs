//! Patch targets (`types.Selector`, `resWrangler.Select`): group, version, kind, name and
//! namespace as anchored regular expressions, plus Kubernetes label and annotation selectors.

use super::fieldspec::scalar_text;
use super::resource::Resource;
use regex::Regex;
use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

/// An anchored pattern. Most selectors are plain names (`Deployment`, `cert-manager.io`):
/// those are compared character by character (`.` matching any one character, as in a
/// regex) instead of compiling a regex, which dominated small builds.
#[derive(Debug)]
pub enum Pattern {
    Literal(String),
    Regex(Regex),
}

impl Pattern {
    /// `None` for an empty pattern, which matches everything.
    pub fn new(p: &str) -> Result<Option<Pattern>, String> {
        if p.is_empty() {
            return Ok(None);
        }
        if p.chars()
            .all(|c| c.is_alphanumeric() || "-_/.:@ ".contains(c))
        {
            return Ok(Some(Pattern::Literal(p.to_string())));
        }
        Regex::new(&format!("^(?:{p})$"))
            .map(|re| Some(Pattern::Regex(re)))
            .map_err(|e| format!("invalid pattern '{p}': {e}"))
    }

    pub fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Regex(re) => re.is_match(s),
            Pattern::Literal(p) => {
                let mut have = s.chars();
                p.chars()
                    .all(|want| have.next().is_some_and(|c| want == '.' || c == want))
                    && have.next().is_none()
            }
        }
    }
}

fn pattern(p: &str) -> Result<Option<Pattern>, String> {
    Pattern::new(p)
}

fn matches(re: &Option<Pattern>, s: &str) -> bool {
    re.as_ref().is_none_or(|re| re.is_match(s))
}

/// The indexes of the resources `sel` picks, in order.
pub fn select(resources: &[Resource], sel: &Selector) -> Result<Vec<usize>, String> {
    let (group, version, kind) = (
        pattern(&sel.group)?,
        pattern(&sel.version)?,
        pattern(&sel.kind)?,
    );
    let (name, namespace) = (pattern(&sel.name)?, pattern(&sel.namespace)?);
    let labels = parse_requirements(&sel.label_selector)?;
    let annotations = parse_requirements(&sel.annotation_selector)?;
    let mut out = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        // Group, version and kind first: they turn most objects away without building ids.
        let gvk = r.gvk();
        if !matches(&group, &gvk.group)
            || !matches(&version, &gvk.version)
            || !matches(&kind, &gvk.kind)
        {
            continue;
        }
        let (cur, org) = (r.id(), r.original_id());
        if !matches(&namespace, org.effective_namespace())
            && !matches(&namespace, cur.effective_namespace())
        {
            continue;
        }
        if !matches(&name, &org.name) && !matches(&name, &cur.name) {
            continue;
        }
        if !labels
            .iter()
            .all(|req| req.matches(&r.value["metadata"]["labels"]))
        {
            continue;
        }
        if !annotations
            .iter()
            .all(|req| req.matches(&r.value["metadata"]["annotations"]))
        {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}

/// The label and annotation requirements of a selector, parsed once (`replacements` compares
/// ids exactly and only needs these).
pub struct Compiled {
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

impl Selector {
    pub fn compile(&self) -> Result<Compiled, String> {
        Ok(Compiled {
            labels: parse_requirements(&self.label_selector)?,
            annotations: parse_requirements(&self.annotation_selector)?,
        })
    }
}

impl Compiled {
    /// Whether any label or annotation selector is given.
    pub fn has_meta_fields(&self) -> bool {
        !self.labels.is_empty() || !self.annotations.is_empty()
    }

    /// Whether the object's labels and annotations satisfy the selectors.
    pub fn matches_meta(&self, object: &Value) -> bool {
        self.labels
            .iter()
            .all(|r| r.matches(&object["metadata"]["labels"]))
            && self
                .annotations
                .iter()
                .all(|r| r.matches(&object["metadata"]["annotations"]))
    }
}

#[derive(Debug)]
enum Op {
    Exists,
    NotExists,
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
}

#[derive(Debug)]
struct Requirement {
    key: String,
    op: Op,
}

impl Requirement {
    fn matches(&self, map: &Value) -> bool {
        let value = map.get(&self.key).and_then(scalar_text);
        match (&self.op, value) {
            (Op::Exists, v) => v.is_some(),
            (Op::NotExists, v) => v.is_none(),
            (Op::Equals(want), Some(v)) => v == *want,
            (Op::In(set), Some(v)) => set.contains(&v),
            (Op::Equals(_) | Op::In(_), None) => false,
            (Op::NotEquals(want), v) => v.as_deref() != Some(want.as_str()),
            (Op::NotIn(set), v) => v.is_none_or(|v| !set.contains(&v)),
        }
    }
}

/// A Kubernetes selector string: requirements separated by commas outside parentheses.
fn parse_requirements(s: &str) -> Result<Vec<Requirement>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    let mut out = Vec::new();
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        out.push(
            parse_requirement(part)
                .ok_or_else(|| format!("invalid selector requirement '{part}'"))?,
        );
    }
    Ok(out)
}

fn parse_requirement(p: &str) -> Option<Requirement> {
    let set = |rest: &str| -> Option<Vec<String>> {
        let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
        Some(
            inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
        )
    };
    if let Some(key) = p.strip_prefix('!') {
        return Some(Requirement {
            key: key.trim().to_string(),
            op: Op::NotExists,
        });
    }
    if let Some((key, value)) = p.split_once("!=") {
        return Some(Requirement {
            key: key.trim().to_string(),
            op: Op::NotEquals(value.trim().to_string()),
        });
    }
    if let Some((key, value)) = p.split_once("==").or_else(|| p.split_once('=')) {
        return Some(Requirement {
            key: key.trim().to_string(),
            op: Op::Equals(value.trim().to_string()),
        });
    }
    let words: Vec<&str> = p
        .splitn(3, char::is_whitespace)
        .filter(|w| !w.is_empty())
        .collect();
    match words.as_slice() {
        [key] => Some(Requirement {
            key: key.to_string(),
            op: Op::Exists,
        }),
        [key, "in", rest] => Some(Requirement {
            key: key.to_string(),
            op: Op::In(set(rest)?),
        }),
        [key, "notin", rest] => Some(Requirement {
            key: key.to_string(),
            op: Op::NotIn(set(rest)?),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literal_patterns_match_as_anchored_regexes_do() {
        let lit = |p: &str| Pattern::new(p).expect("valid").expect("not empty");
        assert!(matches!(lit("cert-manager.io"), Pattern::Literal(_)));
        assert!(lit("cert-manager.io").is_match("cert-manager.io"));
        assert!(lit("cert-manager.io").is_match("cert-managerXio"));
        assert!(!lit("web").is_match("web2"));
        assert!(!lit("web2").is_match("web"));
        assert!(matches!(lit("web.*"), Pattern::Regex(_)));
        assert!(lit("web.*").is_match("web-1"));
        assert!(Pattern::new("a(").is_err());
        assert!(Pattern::new("").expect("valid").is_none());
    }

    #[test]
    fn label_selector_syntax() {
        let labels = json!({"app": "web", "tier": "front"});
        let ok = |s: &str| {
            parse_requirements(s)
                .expect("parses")
                .iter()
                .all(|r| r.matches(&labels))
        };
        assert!(ok("app=web"));
        assert!(ok("app==web,tier"));
        assert!(ok("app in (web, api),!missing"));
        assert!(ok("tier notin (back),other!=x"));
        assert!(!ok("app=api"));
        assert!(!ok("missing"));
        assert!(parse_requirements("app in web").is_err());
    }
}
