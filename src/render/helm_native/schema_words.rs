//! A schema violation tree in the words of santhosh-tekuri/jsonschema v6 (Go), which helm
//! prints: boon finds the same violations but words several of them its own way (`want
//! integer, but got string` where Go says `got string, want integer`). Sibling violations are
//! listed by instance location: Go visits an object's properties in map order, which is
//! random, so helm's own order changes from run to run.

use boon::{ErrorKind, ValidationError};
use serde_json::Value;

/// Go's `quote` of the validator: `%q`, then single quotes outside.
fn quote(s: &str) -> String {
    let q = gotmpl::quote::quote(s);
    let inner = &q[1..q.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

fn join_quoted<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| quote(s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Go's `display` of a primitive schema value (`%v`; strings quoted).
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(_) | Value::Object(_) => "value".into(),
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        // Schema numbers are json.Number in Go: printed as written.
        Value::Number(n) => n.to_string(),
    }
}

/// A number as `golang.org/x/text/message` prints a float64's `%v` in English: Go's `%v`
/// with the integer digits grouped by thousands (`70,000`).
fn float(n: &serde_json::Number) -> String {
    grouped(&gotmpl::gofmt::format_v(&gotmpl::Value::Float(
        n.as_f64().unwrap_or(0.0),
    )))
}

/// `%d` of the English printer: digits grouped by thousands.
fn int(n: usize) -> String {
    grouped(&n.to_string())
}

/// Thousands separators in the integer part of a number Go printed (not in an exponent form).
fn grouped(text: &str) -> String {
    if text.contains(['e', 'E']) {
        return text.to_string();
    }
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (digits, frac) = match rest.split_once('.') {
        Some((d, f)) => (d, format!(".{f}")),
        None => (rest, String::new()),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}{frac}")
}

fn primitive(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

fn kind(k: &ErrorKind) -> String {
    use ErrorKind as K;
    match k {
        K::Group | K::Reference { .. } => "validation failed".into(),
        K::Schema { url } => format!("jsonschema validation failed with {}", quote(url)),
        K::ContentSchema => "contentSchema failed".into(),
        K::PropertyName { prop } => format!("invalid propertyName {}", quote(prop)),
        K::RefCycle {
            url,
            kw_loc1,
            kw_loc2,
        } => format!(
            "both {kw_loc1} and {kw_loc2} resolve to {} causing reference cycle",
            gotmpl::quote::quote(url)
        ),
        K::FalseSchema => "false schema".into(),
        K::Type { got, want } => {
            let want: Vec<String> = want.iter().map(|t| t.to_string()).collect();
            format!("got {got}, want {}", want.join(" or "))
        }
        K::Enum { want } => {
            if !want.iter().all(primitive) {
                "enum failed".into()
            } else if want.len() == 1 {
                format!("value must be {}", display(&want[0]))
            } else {
                let w: Vec<String> = want.iter().map(display).collect();
                format!("value must be one of {}", w.join(", "))
            }
        }
        K::Const { want } if primitive(want) => format!("value must be {}", display(want)),
        K::Const { .. } => "const failed".into(),
        K::Format { got, want, err } => {
            format!("{} is not valid {want}: {err}", display(got))
        }
        K::MinProperties { got, want } => {
            format!("minProperties: got {}, want {}", int(*got), int(*want))
        }
        K::MaxProperties { got, want } => {
            format!("maxProperties: got {}, want {}", int(*got), int(*want))
        }
        K::AdditionalProperties { got } => {
            format!("additional properties {} not allowed", join_quoted(got))
        }
        K::Required { want } if want.len() == 1 => {
            format!("missing property {}", quote(want[0]))
        }
        K::Required { want } => format!("missing properties {}", join_quoted(want)),
        K::Dependency { prop, missing } | K::DependentRequired { prop, missing } => format!(
            "properties {} required, if {} exists",
            join_quoted(missing),
            quote(prop)
        ),
        K::MinItems { got, want } => format!("minItems: got {}, want {}", int(*got), int(*want)),
        K::MaxItems { got, want } => format!("maxItems: got {}, want {}", int(*got), int(*want)),
        K::Contains => "no items match contains schema".into(),
        K::MinContains { got, want } if got.is_empty() => {
            format!("min {want} items required to match contains schema, but none matched")
        }
        K::MinContains { got, want } => format!(
            "min {want} items required to match contains schema, but matched {} items at {}",
            got.len(),
            join_numbers(got)
        ),
        K::MaxContains { got, want } => format!(
            "max {want} items required to match contains schema, but matched {} items at {}",
            got.len(),
            join_numbers(got)
        ),
        K::UniqueItems { got: [i, j] } => format!("items at {i} and {j} are equal"),
        K::AdditionalItems { got } => format!("last {got} additionalItem(s) not allowed"),
        K::MinLength { got, want } => format!("minLength: got {}, want {}", int(*got), int(*want)),
        K::MaxLength { got, want } => format!("maxLength: got {}, want {}", int(*got), int(*want)),
        K::Pattern { got, want } => {
            format!("{} does not match pattern {}", quote(got), quote(want))
        }
        K::ContentEncoding { want, err } => {
            format!("value is not {} encoded: {err}", quote(want))
        }
        K::ContentMediaType { want, err, .. } => {
            format!("value if not of mediatype {}: {err}", quote(want))
        }
        K::Minimum { got, want } => format!("minimum: got {}, want {}", float(got), float(want)),
        K::Maximum { got, want } => format!("maximum: got {}, want {}", float(got), float(want)),
        K::ExclusiveMinimum { got, want } => {
            format!("exclusiveMinimum: got {}, want {}", float(got), float(want))
        }
        K::ExclusiveMaximum { got, want } => {
            format!("exclusiveMaximum: got {}, want {}", float(got), float(want))
        }
        K::MultipleOf { got, want } => {
            format!("multipleOf: got {}, want {}", float(got), float(want))
        }
        // helm's validator (v6.0.2) quotes the keyword of these.
        K::Not => "'not' failed".into(),
        K::AllOf => "'allOf' failed".into(),
        K::AnyOf => "'anyOf' failed".into(),
        K::OneOf(None) => "'oneOf' failed, none matched".into(),
        K::OneOf(Some((i, j))) => format!("'oneOf' failed, subschemas {i}, {j} matched"),
    }
}

/// Go's `%v` of `[]int` without the brackets.
fn join_numbers(v: &[usize]) -> String {
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(" ")
}

fn skip(e: &ValidationError) -> bool {
    e.causes.len() == 1 && matches!(e.kind, ErrorKind::Reference { .. })
}

/// Go's `ValidationError.display`: one line per node, causes indented under it.
fn display_tree(e: &ValidationError, indent: usize, out: &mut String) {
    let mut indent = indent;
    if !skip(e) {
        if indent > 0 {
            out.push('\n');
            out.push_str(&"  ".repeat(indent - 1));
            out.push_str("- ");
        }
        indent += 1;
        if let ErrorKind::Schema { .. } = e.kind {
            out.push_str(&kind(&e.kind));
        } else {
            out.push_str(&format!(
                "at {}: {}",
                quote(&e.instance_location.to_string()),
                kind(&e.kind)
            ));
        }
    }
    let mut causes: Vec<&ValidationError> = e.causes.iter().collect();
    causes.sort_by_cached_key(|c| c.instance_location.to_string());
    for c in causes {
        if !matches!(e.kind, ErrorKind::AllOf) && lone_all_of(c) {
            // boon drops the `allOf` node over a single failing subschema; Go keeps it.
            out.push('\n');
            out.push_str(&"  ".repeat(indent.saturating_sub(1)));
            out.push_str(&format!(
                "- at {}: 'allOf' failed",
                quote(&c.instance_location.to_string())
            ));
            display_tree(c, indent + 1, out);
        } else {
            display_tree(c, indent, out);
        }
    }
}

/// Whether an error comes straight from one subschema of an `allOf` (its schema location
/// ends in `/allOf/N`).
fn lone_all_of(e: &ValidationError) -> bool {
    let Some((head, n)) = e.schema_url.rsplit_once('/') else {
        return false;
    };
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && head.ends_with("/allOf")
}

/// The whole error as Go's `Error()` prints it.
pub fn go_error(e: &ValidationError) -> String {
    let mut out = String::new();
    display_tree(e, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_grouped_as_the_english_printer_does() {
        assert_eq!(super::grouped("70000"), "70,000");
        assert_eq!(super::grouped("-1234567.25"), "-1,234,567.25");
        assert_eq!(super::grouped("999"), "999");
        assert_eq!(super::grouped("1e+21"), "1e+21");
    }
}
