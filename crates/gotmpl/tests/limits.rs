//! No input makes the engine panic or overflow its stack: deep nesting of control
//! structures, parentheses and template calls ends in an error (or output), never a crash.

use gotmpl::{Templates, Value};

fn run(text: &str) -> Result<String, gotmpl::Error> {
    let mut t = Templates::new();
    t.parse("t", text)?;
    t.execute("t", Value::Nil)
}

#[test]
fn deeply_nested_ifs_are_refused_not_crashed() {
    let n = 20_000;
    let text = "{{ if 1 }}".repeat(n) + &"{{ end }}".repeat(n);
    let err = run(&text).expect_err("too deep");
    assert!(
        err.to_string().contains("max nesting depth exceeded"),
        "{err}"
    );
    // Deep but allowed nesting runs on a grown stack.
    let text = "{{ if 1 }}".repeat(5000) + "x" + &"{{ end }}".repeat(5000);
    assert_eq!(run(&text).expect("5000 levels"), "x");
}

#[test]
fn deeply_nested_parens_are_refused_not_crashed() {
    let n = 100_000;
    let text = format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n));
    let err = run(&text).expect_err("too deep");
    assert!(
        err.to_string().contains("max expression depth exceeded"),
        "{err}"
    );
    // Go's limit is 10000: below it, parsing and execution run on a grown stack.
    let n = 9_000;
    let text = format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n));
    assert_eq!(run(&text).expect("9000 parens"), "1");
    let text = format!("{{{{ print {}1{} }}}}", "(".repeat(n), ")".repeat(n));
    assert_eq!(run(&text).expect("9000 parens as argument"), "1");
}

#[test]
fn unbounded_template_recursion_stops_with_go_words() {
    let err = run(r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#)
        .expect_err("recursion");
    assert!(
        err.to_string()
            .contains("exceeded maximum template depth (100000)"),
        "{err}"
    );
}

#[test]
fn self_referencing_map_prints_without_crashing() {
    let m = Value::map(Default::default());
    if let Value::Map(r) = &m {
        r.borrow_mut().entries.insert("self".into(), m.clone());
    }
    let mut t = Templates::new();
    t.parse("t", "{{ . }}").expect("parse");
    let out = t.execute("t", m).expect("prints");
    assert!(out.starts_with("map[self:map[self:"));
}

#[test]
fn garbage_never_panics() {
    let pieces = [
        "{{", "}}", "{{-", "-}}", "(", ")", "|", "$x", ":=", "=", ".a", "\"", "`", "'", "if",
        "end", "else", "range", "with", "define", "template", "block", "break", "1e", "0x", "nil",
        " ", "\n", "/*", "*/", ",", "é", "\u{0}",
    ];
    let mut seed = 12345u64;
    for _ in 0..20_000 {
        let mut s = String::new();
        for _ in 0..(seed % 12) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        let _ = run(&s);
    }
}
