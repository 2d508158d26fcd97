//! Marker rewriting on fixtures with every marker form (`NS:NAME`, `:tag`, `:name`, `:digest`),
//! comments, flow and block style, quoted and plain scalars, LF and CRLF: the rewritten file
//! differs from the original in exactly the marked values, and reads back (as YAML) as the
//! original with those values replaced.

use ferry::images::markers::{self, Field, Marker};
use serde_yaml_ng::Value;
use std::path::Path;

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/images/markers");
    let mut v: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| {
            let p = e.expect("entry").path();
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .collect();
    v.sort();
    assert!(v.len() >= 3);
    v
}

/// A new value for each marker, unique per marker so the YAML check can find it.
fn new_value(m: &Marker, i: usize) -> String {
    match m.field {
        Field::Full => format!("registry.example/new/img{i}:9.{i}.0"),
        // A date tag: YAML would read it as a number, so a plain scalar gets quoted.
        Field::Tag if i.is_multiple_of(2) => format!("2024010{i}"),
        Field::Tag => format!("9.{i}.1-rc.1"),
        Field::Name => format!("registry.example/renamed{i}"),
        Field::Digest => format!(
            "sha256:{}",
            format!("{i:x}").repeat(64).get(..64).unwrap_or_default()
        ),
    }
}

fn documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML reads"))
        .collect()
}

fn replace_scalars(v: &mut Value, from: &str, to: &str) -> usize {
    match v {
        Value::String(s) if s == from => {
            *s = to.to_string();
            1
        }
        Value::Sequence(items) => items.iter_mut().map(|i| replace_scalars(i, from, to)).sum(),
        Value::Mapping(m) => m
            .iter_mut()
            .map(|(_, i)| replace_scalars(i, from, to))
            .sum(),
        _ => 0,
    }
}

fn check(name: &str, text: &str) -> usize {
    let found = markers::find(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!found.is_empty(), "{name}: no markers");
    let mut edits = Vec::new();
    let mut expected_lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut before = documents(text);
    for (i, m) in found.iter().enumerate() {
        let new = new_value(m, i);
        assert_eq!(&text[m.span.clone()], m.value, "{name}:{}: span", m.line);
        let (range, replacement) = markers::replacement(m, &new);
        // The expected line: the old one with only the value swapped.
        let line_start: usize = text
            .split_inclusive('\n')
            .take(m.line - 1)
            .map(str::len)
            .sum();
        let line = &mut expected_lines[m.line - 1];
        let (a, b) = (range.start - line_start, range.end - line_start);
        *line = format!("{}{}{}", &line[..a], replacement, &line[b..]);
        edits.push((range, replacement));
        let hits: usize = before
            .iter_mut()
            .map(|d| replace_scalars(d, &m.value, &new))
            .sum();
        assert_eq!(
            hits, 1,
            "{name}:{}: {} occurs once in the YAML",
            m.line, m.value
        );
    }
    let out = markers::apply(text, edits);
    assert_eq!(
        out,
        expected_lines.concat(),
        "{name}: only the values change"
    );
    let old_lines: Vec<&str> = text.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = out.split_inclusive('\n').collect();
    assert_eq!(old_lines.len(), new_lines.len());
    let marked: Vec<usize> = found.iter().map(|m| m.line - 1).collect();
    for (i, (o, n)) in old_lines.iter().zip(&new_lines).enumerate() {
        if !marked.contains(&i) {
            assert_eq!(o, n, "{name}:{}: an unmarked line changed", i + 1);
        } else {
            // Line ending and comment are kept.
            assert_eq!(o.ends_with("\r\n"), n.ends_with("\r\n"), "{name}:{}", i + 1);
            let comment = |l: &str| l[l.find("# {").expect("marker")..].to_string();
            assert_eq!(comment(o), comment(n), "{name}:{}", i + 1);
        }
    }
    assert_eq!(
        documents(&out),
        before,
        "{name}: the YAML reads as the old one with new values"
    );
    // Markers are found again, at the same lines, with the new values.
    let again = markers::find(&out).expect("markers again");
    assert_eq!(again.len(), found.len());
    for (i, (a, m)) in again.iter().zip(&found).enumerate() {
        assert_eq!(a.line, m.line);
        assert_eq!(a.value, new_value(m, i), "{name}:{}", a.line);
    }
    found.len()
}

#[test]
fn rewrites_only_the_marked_values_lf() {
    let mut total = 0;
    for (name, text) in fixtures() {
        total += check(&name, &text);
    }
    assert!(total >= 15, "{total} markers");
}

#[test]
fn rewrites_only_the_marked_values_crlf() {
    for (name, text) in fixtures() {
        let crlf = text.replace('\n', "\r\n");
        check(&format!("{name} (CRLF)"), &crlf);
    }
}

#[test]
fn every_form_is_recognised() {
    let all: Vec<Marker> = fixtures()
        .iter()
        .flat_map(|(_, t)| markers::find(t).expect("markers"))
        .collect();
    for f in [Field::Full, Field::Tag, Field::Name, Field::Digest] {
        assert!(all.iter().any(|m| m.field == f), "{f:?}");
    }
    for q in [
        markers::Quote::Plain,
        markers::Quote::Single,
        markers::Quote::Double,
    ] {
        assert!(all.iter().any(|m| m.quote == q), "{q:?}");
    }
    assert!(all.iter().any(|m| m.namespace == "prod"));
}

#[test]
fn plain_numbers_are_quoted_and_strings_are_not() {
    let text = "tag: 1.0.0 # {\"$imagepolicy\": \"ns:app:tag\"}\n";
    let m = &markers::find(text).expect("marker")[0];
    let (_, r) = markers::replacement(m, "20240101");
    assert_eq!(r, "\"20240101\"");
    let (_, r) = markers::replacement(m, "1.2.3");
    assert_eq!(r, "1.2.3");
}
