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

fn run_sprig(text: &str, limits: gotmpl::Limits) -> Result<String, gotmpl::Error> {
    let mut t = Templates::with_funcs(gotmpl::sprig::funcs());
    t.limits = limits;
    t.parse("t", text)?;
    t.execute("t", Value::Nil)
}

/// The input the fuzzer found: a width of 55555555555 made `%#v` pad to 55 GB. Go gives up on
/// such a format ("%!(NOVERB)"); so does ferry now, with nothing allocated.
#[test]
fn huge_printf_width_is_go_noverb_not_an_allocation() {
    let text = r#"{{ printf "%6.2v|%.3v|%10.4g|%.0f|%.0e|%#g|%#.3g|%#v|%55555555555#v" 3.14159 1159 2.5 1926.5678 3.14159 2.5 15.0 1.0 2.0 1.0 1e6 }}"#;
    let out = run_sprig(text, Default::default()).expect("renders");
    assert!(out.contains("|1|%!(NOVERB)%!(EXTRA "), "{out}");
    assert!(out.len() < 200, "{} bytes", out.len());
}

#[test]
fn functions_that_build_from_a_count_refuse_past_the_limit() {
    for text in [
        r#"{{ repeat 99999999999 "ab" }}"#,
        r#"{{ indent 99999999999 "a" }}"#,
        r#"{{ nindent 20000000 "a" }}"#,
        r#"{{ until 9999999999 }}"#,
        r#"{{ untilStep 0 9223372036854775807 1 }}"#,
        r#"{{ randAlpha 99999999999 }}"#,
    ] {
        let err = run_sprig(text, Default::default()).expect_err(text);
        assert!(
            err.to_string().contains("over ferry's limit"),
            "{text}: {err}"
        );
    }
    // Below the limit they work, and untilStep keeps Sprig's meaning at the edges.
    assert_eq!(
        run_sprig(r#"{{ repeat 3 "ab" }}"#, Default::default()).unwrap(),
        "ababab"
    );
    assert_eq!(
        run_sprig(
            "{{ untilStep 9223372036854775800 9223372036854775807 3 }}",
            Default::default()
        )
        .unwrap(),
        "[9223372036854775800 9223372036854775803 9223372036854775806]"
    );
    assert_eq!(
        run_sprig(
            "{{ untilStep 5 0 -2 }} {{ untilStep 0 5 -1 }} {{ until -3 }}",
            Default::default()
        )
        .unwrap(),
        "[5 3 1] [] [0 -1 -2]"
    );
}

#[test]
fn growth_by_concatenation_stops_at_the_string_limit() {
    // Doubling a string: each call is checked, so the 25th doubling (32 MiB) is refused.
    let text = r#"{{ $s := "x" }}{{ range until 40 }}{{ $s = cat $s $s }}{{ end }}{{ len $s }}"#;
    let err = run_sprig(text, Default::default()).expect_err("too big");
    assert!(err.to_string().contains("error calling cat"), "{err}");
    assert!(err.to_string().contains("over ferry's limit"), "{err}");
    // Printing a huge self-similar value stops early instead of walking 2^100 nodes.
    let text = r#"{{ $m := dict }}{{ $l := list $m $m $m $m }}{{ range until 30 }}{{ $l = list $l $l $l $l }}{{ end }}{{ $l }}"#;
    let err = run_sprig(text, Default::default()).expect_err("too big to print");
    assert!(err.to_string().contains("over ferry's limit"), "{err}");
}

#[test]
fn step_and_output_limits_stop_runaway_templates() {
    let steps = gotmpl::Limits {
        max_steps: Some(10_000),
        ..Default::default()
    };
    let err = run_sprig(
        "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}",
        steps,
    )
    .expect_err("runaway");
    assert!(err.to_string().contains("more than 10000 steps"), "{err}");
    // Steps are shared with included templates.
    let err = run_sprig(
        r#"{{ define "d" }}{{ range until 100 }}.{{ end }}{{ end }}{{ range until 1000 }}{{ include "d" . }}{{ end }}"#,
        steps,
    );
    assert!(err.is_err());
    let out = gotmpl::Limits {
        max_output: 1000,
        ..Default::default()
    };
    let err = run_sprig(r#"{{ range until 2000 }}x{{ end }}"#, out).expect_err("too much output");
    assert!(
        err.to_string().contains("output would exceed 1000 bytes"),
        "{err}"
    );
    assert_eq!(
        run_sprig(r#"{{ range until 1000 }}x{{ end }}"#, out)
            .unwrap()
            .len(),
        1000
    );
}
