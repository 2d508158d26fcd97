//! Setter markers in YAML files, in the syntax of Flux's image-automation-controller so that
//! repositories written for Flux work unchanged:
//!
//! ```yaml
//! image: ghcr.io/org/app:1.2.3 # {"$imagepolicy": "flux-system:app"}
//! tag: 1.2.3                   # {"$imagepolicy": "flux-system:app:tag"}
//! repository: ghcr.io/org/app  # {"$imagepolicy": "flux-system:app:name"}
//! digest: sha256:...           # {"$imagepolicy": "flux-system:app:digest"}
//! ```
//!
//! The marker is a comment on the line of the scalar it sets; the scalar is the last one before
//! the comment (a block value, a sequence item, or the last value of a flow collection). The
//! policy is found by `NAME`; when `NAMESPACE` is the name of an environment, that
//! environment's override of the policy is used.
//!
//! Rewriting replaces only the scalar's characters: quotes, comments, indentation, line endings
//! (CRLF stays CRLF) and every other byte stay. One exception keeps the meaning: a plain scalar
//! whose new value YAML would read as a number, boolean or null (`20240101`) is written quoted.

use std::ops::Range;

/// Which part of an image reference a marker sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// `image:tag` (with `@digest` when the policy pins digests).
    Full,
    /// `tag` (with `@digest` when the policy pins digests).
    Tag,
    /// The image name.
    Name,
    /// `sha256:...`.
    Digest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    Plain,
    Single,
    Double,
}

/// A marker and the scalar it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// 1-based line.
    pub line: usize,
    pub namespace: String,
    pub policy: String,
    pub field: Field,
    /// Byte range of the scalar's content in the file (inside the quotes, if any).
    pub span: Range<usize>,
    pub value: String,
    pub quote: Quote,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct MarkerError {
    pub line: usize,
    pub message: String,
}

const KEY: &str = "\"$imagepolicy\"";

/// Reads the marker JSON (`{"$imagepolicy": "ns:name[:field]"}`) that starts at `text`.
fn parse_marker(text: &str, line: usize) -> Result<(String, String, Field), MarkerError> {
    let err = |m: String| MarkerError { line, message: m };
    let end = text
        .find('}')
        .ok_or_else(|| err("the marker has no closing `}`".into()))?;
    let json = &text[..=end];
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(json).map_err(|e| {
            err(format!(
                "the marker `{json}` is not a JSON object of strings: {e}"
            ))
        })?;
    let value = map
        .get("$imagepolicy")
        .ok_or_else(|| err(format!("the marker `{json}` has no \"$imagepolicy\"")))?;
    let parts: Vec<&str> = value.split(':').collect();
    let (ns, name, field) = match parts.as_slice() {
        [ns, name] => (*ns, *name, Field::Full),
        [ns, name, f] => {
            let field = match *f {
                "tag" => Field::Tag,
                "name" => Field::Name,
                "digest" => Field::Digest,
                other => {
                    return Err(err(format!(
                        "`{value}`: unknown field `{other}` (use `:tag`, `:name`, `:digest` or none for the whole reference)"
                    )))
                }
            };
            (*ns, *name, field)
        }
        _ => {
            return Err(err(format!(
                "`{value}` is not NAMESPACE:NAME or NAMESPACE:NAME:FIELD"
            )))
        }
    };
    if ns.is_empty() || name.is_empty() {
        return Err(err(format!("`{value}` has an empty namespace or name")));
    }
    Ok((ns.to_string(), name.to_string(), field))
}

/// The comment start `#` of `line` (outside quotes, after a space or at the start), if any.
fn comment_start(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(b'"') if c == b'\\' => i += 1,
            Some(q) if c == q => {
                // `''` inside single quotes is an escaped quote.
                if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None => {
                if c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') {
                    return Some(i);
                }
                let starts_scalar =
                    i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'[' | b'{' | b',' | b':');
                if (c == b'"' || c == b'\'') && starts_scalar {
                    quote = Some(c);
                }
            }
        }
        i += 1;
    }
    None
}

/// The scalar that ends `prefix` (the line up to the comment): its content range and style.
fn last_scalar(prefix: &str, line: usize) -> Result<(Range<usize>, Quote), MarkerError> {
    let err = |m: &str| MarkerError {
        line,
        message: m.to_string(),
    };
    let b = prefix.as_bytes();
    let mut end = prefix.trim_end().len();
    // Closing brackets of flow collections: the scalar is the last one inside.
    while end > 0 && matches!(b[end - 1], b'}' | b']' | b' ' | b'\t') {
        end -= 1;
    }
    if end == 0 {
        return Err(err("the marker follows no value on its line"));
    }
    match b[end - 1] {
        b'"' => {
            let mut i = end - 1;
            while i > 0 {
                i -= 1;
                if b[i] == b'"' {
                    let slashes = b[..i].iter().rev().take_while(|c| **c == b'\\').count();
                    if slashes % 2 == 0 {
                        return Ok((i + 1..end - 1, Quote::Double));
                    }
                }
            }
            Err(err("unterminated double-quoted value before the marker"))
        }
        b'\'' => {
            let mut i = end - 1;
            while i > 0 {
                i -= 1;
                if b[i] == b'\'' {
                    if i > 0 && b[i - 1] == b'\'' {
                        i -= 1;
                        continue;
                    }
                    return Ok((i + 1..end - 1, Quote::Single));
                }
            }
            Err(err("unterminated single-quoted value before the marker"))
        }
        _ => {
            let start = b[..end]
                .iter()
                .rposition(|c| matches!(c, b' ' | b'\t' | b',' | b'[' | b'{'))
                .map_or(0, |p| p + 1);
            let token = &prefix[start..end];
            if token.ends_with(':') || token == "-" || token.is_empty() {
                return Err(err(
                    "the marker follows a key with no value on its line (a marker sets the scalar on its own line)",
                ));
            }
            Ok((start..end, Quote::Plain))
        }
    }
}

/// Every marker of a YAML text.
///
/// # Errors
/// A malformed marker, or one that follows no scalar; with its line.
pub fn find(text: &str) -> Result<Vec<Marker>, MarkerError> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = n + 1;
        let line = raw.trim_end_matches('\n').trim_end_matches('\r');
        let here = offset;
        offset += raw.len();
        if !line.contains(KEY) {
            continue;
        }
        let Some(hash) = comment_start(line) else {
            continue;
        };
        let comment = &line[hash + 1..];
        let Some(brace) = comment.find('{') else {
            continue;
        };
        if !comment[brace..].contains(KEY) {
            continue;
        }
        let (namespace, policy, field) = parse_marker(&comment[brace..], line_no)?;
        let prefix = &line[..hash];
        if prefix.trim().is_empty() {
            return Err(MarkerError {
                line: line_no,
                message: "the marker is on a line of its own; put it after the value it sets"
                    .into(),
            });
        }
        let (span, quote) = last_scalar(prefix, line_no)?;
        let value = prefix[span.clone()].to_string();
        out.push(Marker {
            line: line_no,
            namespace,
            policy,
            field,
            span: here + span.start..here + span.end,
            value,
            quote,
        });
    }
    Ok(out)
}

/// Whether YAML (1.1 or 1.2 core) would read a plain scalar as something other than a string.
fn plain_is_not_string(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    if matches!(
        l.as_str(),
        "" | "~"
            | "null"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
    ) {
        return true;
    }
    let digits = l.trim_start_matches(['-', '+']);
    if digits.starts_with("0x") || digits.starts_with("0o") || digits.starts_with("0b") {
        return true;
    }
    let number = digits
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'e' | b'-' | b'+'))
        && digits.bytes().any(|c| c.is_ascii_digit())
        && digits.matches('.').count() <= 1;
    // `1.2.3` has two dots and stays a string; `1.5`, `1e3`, `20240101` do not.
    number || v.parse::<f64>().is_ok()
}

/// The text to put in place of `m`'s scalar content so that it reads back as `new`: the value
/// itself, or (for a plain scalar YAML would not read as a string) the value in double quotes,
/// in which case the range grows to cover them.
pub fn replacement(m: &Marker, new: &str) -> (Range<usize>, String) {
    match m.quote {
        Quote::Plain if plain_is_not_string(new) => (m.span.clone(), format!("\"{new}\"")),
        Quote::Single => (m.span.clone(), new.replace('\'', "''")),
        _ => (m.span.clone(), new.to_string()),
    }
}

/// Applies `(range, text)` edits (non-overlapping) to `text`.
pub fn apply(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = text.to_string();
    for (r, t) in edits {
        out.replace_range(r, &t);
    }
    out
}

/// Splits an image reference `name[:tag][@digest]` (the port of a host is not a tag).
pub fn split_reference(r: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match r.split_once('@') {
        Some((a, d)) => (a, Some(d)),
        None => (r, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_form() {
        let t = "a:\n  image: ghcr.io/o/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n  tag: \"1.0.0\" # {\"$imagepolicy\": \"prod:app:tag\"}\n  - 'x:1' # {\"$imagepolicy\": \"ns:app\"}\nb: {name: app, newTag: 1.0.0} # {\"$imagepolicy\": \"ns:app:tag\"}\n";
        let m = find(t).expect("markers");
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].value, "ghcr.io/o/app:1.0.0");
        assert_eq!((m[0].field, m[0].quote), (Field::Full, Quote::Plain));
        assert_eq!(
            (m[1].namespace.as_str(), m[1].value.as_str()),
            ("prod", "1.0.0")
        );
        assert_eq!(m[1].quote, Quote::Double);
        assert_eq!((m[2].value.as_str(), m[2].quote), ("x:1", Quote::Single));
        assert_eq!(m[3].value, "1.0.0");
        assert_eq!(&t[m[3].span.clone()], "1.0.0");
    }

    #[test]
    fn bad_markers() {
        for t in [
            "a: b # {\"$imagepolicy\": \"justname\"}\n",
            "a: b # {\"$imagepolicy\": \"ns:n:bogus\"}\n",
            "a: # {\"$imagepolicy\": \"ns:n\"}\n",
            "# {\"$imagepolicy\": \"ns:n\"}\n",
            "a: b # {\"$imagepolicy\": ns:n}\n",
        ] {
            assert!(find(t).is_err(), "{t}");
        }
        // A `#` inside quotes is no comment.
        assert!(find("a: \"x # {\\\"$imagepolicy\\\": 1}\"\n")
            .expect("ok")
            .is_empty());
    }

    #[test]
    fn references() {
        assert_eq!(
            split_reference("127.0.0.1:5000/a/b:1.2@sha256:ab"),
            ("127.0.0.1:5000/a/b", Some("1.2"), Some("sha256:ab"))
        );
        assert_eq!(
            split_reference("localhost:5000/a"),
            ("localhost:5000/a", None, None)
        );
    }

    #[test]
    fn quoting_keeps_strings() {
        assert!(plain_is_not_string("20240101"));
        assert!(plain_is_not_string("1.5"));
        assert!(!plain_is_not_string("1.2.3"));
        assert!(!plain_is_not_string("main-5f2c1a-1712"));
        assert!(!plain_is_not_string("v1.2.3"));
    }
}
