//! ferry's text/template against Go's own (tests/goref): the hand-written corpus
//! (tests/corpus/*.tmpl, every construct and error case, each difference ever found a named
//! case there) and random templates from a fixed seed, compared byte for byte, error texts
//! included. `cargo xtask differential gotmpl [CASES] [SEED]` runs many more random cases.

mod support;

use support::{goref, native, read_corpus, Case, Outcome};

fn compare(go: &mut support::GoRef, cases: &[Case]) -> Vec<String> {
    let mut diffs = Vec::new();
    for c in cases {
        let want = go.run(c);
        let got = native(c);
        if want != got {
            diffs.push(format!(
                "case {} (missingkey={}):\n  template: {:?}\n  data: {}\n  go:    {:?}\n  ferry: {:?}",
                c.name, c.missing, c.text, c.data, want, got
            ));
        }
    }
    diffs
}

#[test]
fn corpus_matches_go() {
    let Some(mut go) = goref() else { return };
    let files = support::corpus_files("corpus");
    let mut total = 0;
    let mut diffs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("corpus file");
        let cases = read_corpus(&text);
        total += cases.len();
        diffs.extend(compare(&mut go, &cases));
    }
    eprintln!("{total} corpus cases, {} differences", diffs.len());
    assert!(total > 0, "empty corpus");
    assert!(
        diffs.is_empty(),
        "{} differences from Go:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn random_templates_match_go() {
    let Some(mut go) = goref() else { return };
    let cases: usize = std::env::var("FERRY_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let seed: u64 = std::env::var("FERRY_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_2026);
    let generated = support::gen::cases(seed, cases);
    let (mut errors, mut outputs) = (0, 0);
    let mut diffs = Vec::new();
    for c in &generated {
        let want = go.run(c);
        match &want {
            Outcome::Err(_) => errors += 1,
            Outcome::Out(_) => outputs += 1,
        }
        let got = native(c);
        if want != got {
            diffs.push(format!(
                "case {} (missingkey={}):\n  template: {:?}\n  data: {}\n  go:    {:?}\n  ferry: {:?}",
                c.name, c.missing, c.text, c.data, want, got
            ));
        }
    }
    eprintln!(
        "{cases} random templates (seed {seed}): {outputs} outputs, {errors} errors, {} differences",
        diffs.len()
    );
    diffs.truncate(20);
    assert!(
        diffs.is_empty(),
        "differences from Go (first 20):\n{}",
        diffs.join("\n")
    );
}
